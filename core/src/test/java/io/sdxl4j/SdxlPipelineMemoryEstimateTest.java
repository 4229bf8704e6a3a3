// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SdxlPipelineMemoryEstimateTest {

    private static final long GIB = 1L << 30;
    static SdxlPipeline tiny;

    @BeforeAll
    static void load() {
        tiny = SdxlPipeline.load(TestData.tinyModel(), PipelineOptions.builder().arenaShrinkage(true).build());
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static long estimate(int w, int h) {
        return tiny.estimatePeakMemory(GenerationRequest.builder("x").size(w, h).steps(1).build());
    }

    @Test
    void theTinyModelsAttentionAt512IsTensOfGigabytes() {
        // VAE scale factor 2: 256² latents, whose VAE mid-block attention alone is a 65536² float matrix (16 GiB).
        assertTrue(estimate(512, 512) > 16 * GIB, () -> "estimate " + estimate(512, 512));
        assertTrue(estimate(4096, 64) > 16 * GIB, () -> "estimate " + estimate(4096, 64));
        assertTrue(estimate(64, 64) < GIB / 4, () -> "estimate " + estimate(64, 64));
    }

    @Test
    void theEstimateGrowsWithTheSquareOfThePixelsAndWithTheBatch() {
        long small = estimate(128, 128);
        long large = estimate(256, 256);
        // 4× the pixels: attention grows 16×; the estimate at least 8× (linear terms aside).
        assertTrue(large > 8 * small, () -> small + " then " + large);
        long one = tiny.estimatePeakMemory(GenerationRequest.builder("x").size(128, 128).build());
        long four = tiny.estimatePeakMemory(GenerationRequest.builder("x").size(128, 128).samples(4).build());
        // The UNet's batch grows fourfold; the VAE decodes one image at a time.
        assertTrue(four > one, () -> one + " then " + four);
        long unguided = tiny.estimatePeakMemory(GenerationRequest.builder("x").size(128, 128).guidanceScale(1)
                .build());
        assertTrue(unguided < one, () -> unguided + " unguided, guided " + one);
    }

    @Test
    void anImg2ImgRequestIsSizedByItsImageAndCountsItsDecoding() {
        ImageInput image = ImageInput.of(new BufferedImage(96, 96, BufferedImage.TYPE_INT_RGB));
        long fromImage = tiny.estimatePeakMemory(GenerationRequest.builder("x")
                .mode(GenerationMode.imageToImage(image)).build());
        long asText = estimate(96, 96);
        assertTrue(fromImage > asText, () -> fromImage + " vs text " + asText);
    }

    @Test
    void aRequestThatDoesNotFitTheModelIsRefusedNamingItsField() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> estimate(66, 64));
        assertEquals("width", e.field());
    }
}
