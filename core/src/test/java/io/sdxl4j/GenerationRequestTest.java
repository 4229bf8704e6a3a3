// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.scheduler.SchedulerType;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GenerationRequestTest {

    @Test
    void defaultsAreDocumented() {
        GenerationRequest r = GenerationRequest.builder("a cat").build();
        assertEquals(30, r.steps());
        assertEquals(5.0, r.guidanceScale());
        assertEquals(0.0, r.guidanceRescale());
        assertEquals(1, r.samples());
        assertTrue(r.width().isEmpty() && r.height().isEmpty(), "size defaults to the model's");
        assertTrue(r.seed().isEmpty(), "seed defaults to random");
        assertTrue(r.scheduler().isEmpty(), "scheduler defaults to the model's");
        assertTrue(r.negativePrompt().isEmpty(), "no negative prompt");
        assertEquals(CropCoords.NONE, r.cropsCoordsTopLeft());
    }

    @Test
    void anEmptyNegativePromptIsNotTheSameAsNone() {
        assertEquals("", GenerationRequest.builder("a").negativePrompt("").build().negativePrompt().orElseThrow());
        assertFalse(GenerationRequest.builder("a").negativePrompt(null).build().negativePrompt().isPresent());
    }

    @Test
    void acceptsSchedulersByAnyOfTheirNames() {
        for (String name : new String[] {"euler", "EulerDiscreteScheduler", "K_EULER", "Euler"}) {
            assertEquals(SchedulerType.EULER, GenerationRequest.builder("a").scheduler(name).build().scheduler()
                    .orElseThrow(), name);
        }
    }

    static Stream<Arguments> badFields() {
        return Stream.of(
                bad("prompt", "null", b -> b.prompt(null)),
                bad("width", "0", b -> b.width(0)),
                bad("width", "1001", b -> b.width(1001)),
                bad("height", "-8", b -> b.height(-8)),
                bad("height", "4104", b -> b.height(4104)),
                bad("steps", "0", b -> b.steps(0)),
                bad("steps", "1001", b -> b.steps(1001)),
                bad("guidanceScale", "NaN", b -> b.guidanceScale(Double.NaN)),
                bad("guidanceScale", "Infinity", b -> b.guidanceScale(Double.POSITIVE_INFINITY)),
                bad("guidanceScale", "-1.0", b -> b.guidanceScale(-1)),
                bad("guidanceRescale", "1.5", b -> b.guidanceRescale(1.5)),
                bad("samples", "0", b -> b.samples(0)),
                bad("samples", "17", b -> b.samples(17)),
                bad("scheduler", "'warp_drive'", b -> b.scheduler("warp_drive")),
                bad("timestepSpacing", "'quadratic'", b -> b.timestepSpacing("quadratic")));
    }

    private static Arguments bad(String field, String value, UnaryOperator<GenerationRequest.Builder> change) {
        return Arguments.of(field, value, change);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badFields")
    void rejectsABadFieldNamingItAndItsValue(String field, String value,
                                             UnaryOperator<GenerationRequest.Builder> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> change.apply(GenerationRequest.builder("a cat")).build());
        assertTrue(e.getMessage().startsWith(field + ":"), e.getMessage());
        assertTrue(e.getMessage().contains(value.equals("null") ? "missing" : value), e.getMessage());
    }
}
