// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.random.RecordedNoise;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** diffusers' own recorded draws, replayed in place of the generator, give diffusers' image: the draws line up. */
class RecordedNoiseTest {

    @Test
    void recordedNoiseReplacesTheGeneratorDrawForDraw() throws IOException {
        Path dir = TestData.conformance().resolve("cases/txt2img_euler_cfg5");
        List<float[]> draws = new ArrayList<>();
        for (int i = 0; Files.exists(dir.resolve(String.format("noise_%02d.npy", i))); i++) {
            draws.add(Npy.readFloats(dir.resolve(String.format("noise_%02d.npy", i))).data());
        }
        RecordedNoise recorded = new RecordedNoise(draws);
        // The case's call, as cases.json records it.
        GenerationRequest request = GenerationRequest.builder("a photo of an astronaut riding a horse")
                .negativePrompt("blurry").steps(8).guidanceScale(5.0).seed(42).size(64, 64).build();
        float[] expected = Npy.readFloats(dir.resolve("image.npy")).data();
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel())) {
            float[] actual = p.generate(request, ProgressListener.NONE, seed -> recorded).image().pixels();
            double err = 0;
            for (int i = 0; i < expected.length; i++) {
                err = Math.max(err, Math.abs(actual[i] - expected[i]));
            }
            assertTrue(err <= 2e-3, "max abs err " + err);
        }
        assertEquals(0, recorded.remaining(), "every recorded draw was consumed, as diffusers drew them");
    }
}
