// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GenerationRequestTest {

    private static final ImageInput IMAGE = ImageInput.of(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB));

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
        assertEquals(NegativePrompt.NONE, r.negativePrompt(), "no negative prompt");
        assertEquals(GenerationMode.textToImage(), r.mode());
        assertEquals(SizeConditioning.DEFAULT, r.sizeConditioning());
        assertEquals(0, r.clipSkip());
        assertEquals(PromptMode.DIFFUSERS, r.promptMode());
        assertTrue(r.refiner().isEmpty() && r.style().isEmpty() && r.timestepSpacing().isEmpty());
        assertEquals(0.8, GenerationMode.imageToImage(IMAGE).strength());
        assertEquals(0.9999, GenerationMode.inpaint(IMAGE, IMAGE).strength());
        assertEquals(0, GenerationMode.inpaint(IMAGE, IMAGE).maskBlur());
        assertEquals(0.8, Refiner.ensemble().highNoiseFraction());
        assertEquals(0.3, Refiner.secondPass().strength());
        assertEquals(new Refiner.AestheticScore(6.0, 2.5), Refiner.secondPass().aestheticScore());
    }

    @Test
    void anEmptyNegativePromptIsNotTheSameAsNone() {
        NegativePrompt empty = GenerationRequest.builder("a").negativePrompt("").build().negativePrompt();
        assertEquals(NegativePrompt.of(""), empty);
        assertNotEquals(NegativePrompt.NONE, empty);
        assertEquals("negativePrompt", assertThrows(InvalidRequestException.class,
                () -> NegativePrompt.of(null)).field());
    }

    @Test
    void acceptsSchedulersByAnyOfTheirNames() {
        for (String name : new String[] {"euler", "EulerDiscreteScheduler", "K_EULER", "Euler"}) {
            assertEquals(SchedulerType.EULER, GenerationRequest.builder("a").scheduler(name).build().scheduler()
                    .orElseThrow(), name);
        }
    }

    @Test
    void equalRequestsAreEqualAndPrintTheirMode() {
        GenerationRequest a = GenerationRequest.builder("a fox").seed(3).mode(GenerationMode.imageToImage(IMAGE))
                .refiner(Refiner.secondPass().withSteps(4)).build();
        GenerationRequest b = a.toBuilder().build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, a.toBuilder().seed(4).build());
        assertTrue(a.toString().contains("ImageToImage"), a.toString());
        assertTrue(a.toString().contains("SecondPass"), a.toString());
    }

    @Test
    void img2imgAndInpaintingAcceptSizesOfTheVaeFactorAndTextToImageOnlyMultiplesOfEight() {
        assertEquals(74, GenerationRequest.builder("a").mode(GenerationMode.imageToImage(IMAGE)).size(74, 70).build()
                .width().orElseThrow());
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> GenerationRequest.builder("a").size(74, 64).build());
        assertEquals("width", e.field());
        assertEquals(Optional.of("74"), e.value());
    }

    static Stream<Arguments> badFields() {
        return Stream.of(
                bad("prompt", null, b -> b.prompt(null)),
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
                bad("seed", "-2", b -> b.seed(-2)),
                bad("clipSkip", "11", b -> b.clipSkip(11)),
                bad("scheduler", "warp_drive", b -> b.scheduler("warp_drive")),
                bad("style", "vaporwave-9000", b -> b.style("vaporwave-9000")),
                bad("timestepSpacing", "quadratic", b -> b.timestepSpacing(TimestepSpacing.parse("quadratic"))),
                bad("cropsCoordsTopLeft", "(-1, 0)", b -> b.sizeConditioning(SizeConditioning.builder()
                        .cropsCoordsTopLeft(new CropCoords(-1, 0)).build())));
    }

    private static Arguments bad(String field, String value, UnaryOperator<GenerationRequest.Builder> change) {
        return Arguments.of(field, value, change);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badFields")
    void rejectsABadFieldNamingItAndItsValue(String field, String value,
                                             UnaryOperator<GenerationRequest.Builder> change) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> change.apply(GenerationRequest.builder("a cat")).build());
        assertEquals(field, e.field());
        assertEquals(Optional.ofNullable(value), e.value());
        assertFalse(e.reason().isBlank());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }
}
