// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.TestData;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.random.RecordedNoise;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every diffusers reference case that sdxl4j implements must match within the case's tolerance, on
 * every engine on the class path ({@code ort} here; {@code ort} and {@code javacpp} when the native
 * module runs this suite); the others are reported as skipped (assumption failures), never passed.
 */
class ConformanceTest {

    private static final ConformanceSuite SUITE = ConformanceSuite.load(TestData.conformance());
    private static final Map<String, ConformanceRunner> RUNNERS = new TreeMap<>();

    static Stream<Arguments> cases() {
        return Engines.available().stream().sorted()
                .flatMap(engine -> SUITE.cases().stream().map(c -> Arguments.of(engine, c.id(), c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void matchesDiffusers(String engine, String id, ConformanceCase c) {
        var unsupported = ConformanceRunner.unsupported(c);
        assumeTrue(unsupported.isEmpty(), () -> unsupported.orElse(""));
        CaseResult r = RUNNERS.computeIfAbsent(engine,
                e -> new ConformanceRunner(PipelineOptions.builder().engine(e).build())).run(c);
        assertEquals(CaseResult.Status.PASS, r.status(), r.line());
    }

    @Test
    void recordedNoiseReplacesTheGeneratorDrawForDraw() throws IOException {
        ConformanceCase c = SUITE.cases().stream().filter(x -> x.id().equals("txt2img_euler_cfg5")).findFirst()
                .orElseThrow();
        List<float[]> draws = new ArrayList<>();
        for (int i = 0; c.file(String.format("noise_%02d", i)).isPresent(); i++) {
            draws.add(Npy.readFloats(c.file(String.format("noise_%02d", i)).get()).data());
        }
        RecordedNoise recorded = new RecordedNoise(draws);
        GenerationRequest request = ConformanceRunner.request(c).toBuilder().noise(seed -> recorded).build();
        float[] expected = Npy.readFloats(c.file("image").orElseThrow()).data();
        try (SdxlPipeline p = SdxlPipeline.load(c.model())) {
            float[] actual = p.generate(request).image().pixels();
            double err = 0;
            for (int i = 0; i < expected.length; i++) {
                err = Math.max(err, Math.abs(actual[i] - expected[i]));
            }
            assertTrue(err <= c.imageTolerance(), "max abs err " + err);
        }
        assertEquals(0, recorded.remaining(), "every recorded draw was consumed, as diffusers drew them");
    }

    @AfterAll
    static void close() {
        RUNNERS.values().forEach(ConformanceRunner::close);
    }
}
