// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.model.FakeUnets;
import io.sdxl4j.model.ModelCopies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading: every broken export fails with the file named, and a good pipeline still loads and
 * generates after each failure; both UNet export styles (fp32 with a float scalar timestep, fp16
 * with an int64 [batch] timestep) are driven correctly.
 */
class SdxlPipelineLoadTest {

    @TempDir
    Path dir;

    @AfterEach
    void aGoodPipelineStillGenerates() {
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel())) {
            assertEquals(1, p.generate(GenerationRequest.builder("ok").steps(2).seed(1).build()).images().size());
        }
    }

    @Test
    void aTruncatedOnnxFileIsNamed() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Path unet = m.resolve("unet/model.onnx");
        byte[] bytes = Files.readAllBytes(unet);
        Files.write(unet, Arrays.copyOf(bytes, bytes.length / 3));
        SdxlException e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(m));
        assertTrue(e.getMessage().startsWith("unet/model.onnx: cannot load the ONNX model"), e.getMessage());
    }

    @Test
    void aComponentWithTheWrongSignatureNamesExpectedAndFound() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Files.copy(m.resolve("text_encoder/model.onnx"), m.resolve("unet/model.onnx"),
                StandardCopyOption.REPLACE_EXISTING);
        SdxlException e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(m));
        assertEquals("unet/model.onnx: input `sample` missing; found [input_ids]", e.getMessage());
    }

    @Test
    void aRefinerUnetInABaseFolderIsCaughtByItsTimeIds() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        FakeUnets.writeFloat32(m.resolve("unet/model.onnx"), 64, 32, 5);
        SdxlException e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(m));
        assertTrue(e.getMessage().startsWith("unet/model.onnx: input `time_ids` is FLOAT32[batch_size,5]"),
                e.getMessage());
    }

    @Test
    void aUnetForOtherTextEncodersIsCaughtByItsWidths() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        FakeUnets.writeFloat32(m.resolve("unet/model.onnx"), 2048, 1280, 6);
        SdxlException e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(m));
        assertTrue(e.getMessage().contains("encoder_hidden_states") && e.getMessage().contains("64"), e.getMessage());
    }

    @Test
    void aBrokenTokenizerIsNamed() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Files.writeString(m.resolve("tokenizer_2/vocab.json"), "[1, 2");
        SdxlException e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(m));
        assertTrue(e.getMessage().contains("tokenizer_2") && e.getMessage().contains("vocab.json"), e.getMessage());
    }

    @Test
    void anUnknownEngineIsAnOptionError() {
        PipelineOptions options = PipelineOptions.builder().engine("nonesuch").build();
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> SdxlPipeline.load(TestData.tinyModel(), options));
        assertEquals("engine", e.field());
        assertEquals("nonesuch", e.value().orElseThrow());
    }

    @Test
    void aGpuProviderMissingFromTheClassPathNamesTheArtifactThatHasIt() {
        PipelineOptions options = PipelineOptions.builder().provider(ExecutionProvider.cuda()).build();
        SdxlException e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(TestData.tinyModel(), options));
        assertTrue(e.getMessage().contains("onnxruntime_gpu") && e.getMessage().contains("CUDA"), e.getMessage());
        PipelineOptions trt = PipelineOptions.builder().provider(ExecutionProvider.tensorRt()).build();
        e = assertThrows(SdxlException.class, () -> SdxlPipeline.load(TestData.tinyModel(), trt));
        assertTrue(e.getMessage().contains("TensorRT"), e.getMessage());
    }

    @Test
    void guidanceDistilledUnetsGetTheGuidanceEmbeddingAndNoSecondBatch() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        FakeUnets.writeFloat32(m.resolve("unet/model.onnx"), 64, 32, 6, 256);
        try (SdxlPipeline p = SdxlPipeline.load(m)) {
            GenerationRequest.Builder b = GenerationRequest.builder("a fox").steps(4).seed(2).scheduler("lcm");
            float[] w1 = p.generate(b.guidanceScale(1.0).build()).image().pixels();
            float[] w8 = p.generate(b.guidanceScale(8.0).build()).image().pixels();
            assertTrue(!Arrays.equals(w1, w8), "the guidance scale reaches the UNet through timestep_cond");
            assertEquals(2, p.generate(b.samples(2).build()).images().size());
        }
    }

    @Test
    void fp16ExportsWithIntegerTimestepsGiveTheFp32Result() throws IOException {
        Path fp32 = ModelCopies.tinyModel(dir.resolve("a"));
        FakeUnets.writeFloat32(fp32.resolve("unet/model.onnx"), 64, 32, 6);
        Path fp16 = ModelCopies.tinyModel(dir.resolve("b"));
        FakeUnets.writeFloat16(fp16.resolve("unet/model.onnx"), 64, 32, 6);
        GenerationRequest request = GenerationRequest.builder("a lighthouse").negativePrompt("fog").steps(5).seed(8)
                .build();
        float[] a;
        float[] b;
        try (SdxlPipeline p = SdxlPipeline.load(fp32)) {
            a = p.generate(request).image().pixels();
        }
        try (SdxlPipeline p = SdxlPipeline.load(fp16)) {
            b = p.generate(request).image().pixels();
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        assertTrue(max < 0.02, "fp16 export differs from fp32 by " + max);
        float[] wrongTimestep;
        try (SdxlPipeline p = SdxlPipeline.load(fp32)) {
            wrongTimestep = p.generate(request.toBuilder().steps(6).build()).image().pixels();
        }
        assertTrue(!Arrays.equals(a, wrongTimestep), "the fake UNet's output depends on the schedule");
    }
}
