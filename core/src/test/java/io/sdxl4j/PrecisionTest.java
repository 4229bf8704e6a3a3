// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PipelineOptions#precision()}: its validation, and the tiny model generating in int8. */
class PrecisionTest {

    /**
     * How far the int8 image of the tiny conformance model may be from its fp32 image, on [0, 1]:
     * measured 0.075–0.086 largest and 0.009 mean over three seeds (bench/RESULTS.md, "Precision");
     * a random tiny model amplifies quantization error more than a trained one.
     */
    private static final double MAX_ABS = 0.12;
    private static final double MEAN_ABS = 0.015;

    @TempDir
    Path dir;

    @Test
    void defaultIsFp32AndToBuilderKeepsThePrecision() {
        assertEquals(Precision.FP32, PipelineOptions.defaults().precision());
        PipelineOptions int8 = PipelineOptions.builder().precision(Precision.INT8).build();
        assertEquals(Precision.INT8, int8.toBuilder().build().precision());
        assertThrows(NullPointerException.class, () -> PipelineOptions.builder().precision(null));
    }

    @Test
    void int8IsRefusedOffTheCpuAndWithPipelineLoras() {
        InvalidRequestException gpu = assertThrows(InvalidRequestException.class, () -> PipelineOptions.builder()
                .provider(ExecutionProvider.cuda()).precision(Precision.INT8).build());
        assertEquals("precision", gpu.field());
        InvalidRequestException lora = assertThrows(InvalidRequestException.class, () -> PipelineOptions.builder()
                .loras(List.of(Lora.named("style", 1))).precision(Precision.INT8_CONV).build());
        assertEquals("precision", lora.field());
    }

    @Test
    void tinyModelInInt8StaysNearFp32AndRefusesRequestLoras() throws IOException {
        GenerationRequest request = GenerationRequest.builder("a photo of an astronaut riding a horse")
                .negativePrompt("blurry").size(64, 64).steps(8).guidanceScale(5.0).seed(42).build();
        float[] fp32;
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel())) {
            fp32 = p.generate(request).image().pixels();
        }
        Path cache = dir.resolve("cache");
        PipelineOptions options = PipelineOptions.builder().precision(Precision.INT8).optimizedModelCache(cache)
                .build();
        float[] int8;
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel(), options)) {
            int8 = p.generate(request).image().pixels();
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> p.generate(
                    GenerationRequest.builder("a fox").steps(2).size(64, 64).lora(Lora.named("any", 1)).build()));
            assertEquals("loras", e.field());
        }
        double max = 0;
        double sum = 0;
        for (int i = 0; i < fp32.length; i++) {
            double d = Math.abs(fp32[i] - int8[i]);
            max = Math.max(max, d);
            sum += d;
        }
        assertTrue(max > 0, "the int8 image differs (the UNet was converted)");
        assertTrue(max <= MAX_ABS, "largest difference " + max);
        assertTrue(sum / fp32.length <= MEAN_ABS, "mean difference " + sum / fp32.length);
        try (var files = Files.list(cache)) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("converted-unet")),
                    "the converted UNet is kept in the cache");
        }
    }
}
