// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.GraphOptimization;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrtEngineTest {

    private static Engine engine;
    private static EngineSession vae;

    @BeforeAll
    static void open() {
        engine = Engines.create(PipelineOptions.defaults());
        vae = engine.open(TestData.tinyModel().resolve("vae_decoder/model.onnx"), "vae_decoder/model.onnx");
    }

    @AfterAll
    static void close() {
        vae.close();
        engine.close();
    }

    @Test
    void reportsTheDeclaredSignature() {
        TensorSpec in = vae.input("latent_sample").orElseThrow();
        assertEquals(DataType.FLOAT32, in.dataType());
        assertEquals("FLOAT32[batch_size,4,latent_height,latent_width]", in.describe());
        assertEquals("sample", vae.outputs().get(0).name());
        assertTrue(Engines.available().contains("ort"));
        assertTrue(engine.describe().startsWith("ort (ONNX Runtime "), engine.describe());
    }

    @Test
    void runsInPlaceOnTheBoundBuffersEveryTime() {
        try (HostTensor latents = HostTensor.floats(1, 4, 4, 4);
             HostTensor image = HostTensor.floats(1, 3, 8, 8);
             HostTensor reference = HostTensor.floats(1, 3, 8, 8);
             Binding b = vae.bind(Map.of("latent_sample", latents), Map.of("sample", image))) {
            b.run();
            float[] fromZeros = image.toFloatArray();
            // Writing the bound input buffer is enough: the next run sees it (zero-copy input) and
            // writes the bound output buffer (pinned output).
            for (int i = 0; i < latents.size(); i++) {
                latents.floatBuffer().put(i, (i % 7) * 0.3f - 1f);
            }
            b.run();
            float[] fromValues = image.toFloatArray();
            assertFalse(java.util.Arrays.equals(fromZeros, fromValues));
            try (Binding fresh = vae.bind(Map.of("latent_sample", latents), Map.of("sample", reference))) {
                fresh.run();
            }
            assertArrayEquals(reference.toFloatArray(), fromValues);
        }
    }

    @Test
    void bindingRejectsUnknownNamesAndWrongShapes() {
        try (HostTensor latents = HostTensor.floats(1, 3, 4, 4); HostTensor image = HostTensor.floats(1, 3, 8, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> vae.bind(Map.of("latent_sample", latents), Map.of("sample", image)));
            assertTrue(e.getMessage().contains("latent_sample") && e.getMessage().contains("(1, 3, 4, 4)"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> vae.bind(Map.of("latents", latents), Map.of("sample", image)));
            assertTrue(e.getMessage().contains("[latent_sample]"), e.getMessage());
        }
    }

    @Test
    void aMissingFileIsNamed() {
        SdxlException e = assertThrows(SdxlException.class,
                () -> engine.open(Path.of("does-not-exist.onnx"), "unet/model.onnx"));
        assertTrue(e.getMessage().startsWith("unet/model.onnx: file not found"), e.getMessage());
    }

    @Test
    void sessionCloseIsIdempotentAndBindingAfterCloseThrows() {
        EngineSession s = engine.open(TestData.tinyModel().resolve("vae_decoder/model.onnx"), "vae");
        s.close();
        s.close();
        try (HostTensor t = HostTensor.floats(1, 4, 2, 2); HostTensor o = HostTensor.floats(1, 3, 4, 4)) {
            assertThrows(IllegalStateException.class, () -> s.bind(Map.of("latent_sample", t), Map.of("sample", o)));
        }
    }

    @Test
    void optimizedModelCacheIsWrittenOnceAndGivesTheSameResults(@TempDir Path cache) throws Exception {
        Path model = TestData.tinyModel().resolve("vae_decoder/model.onnx");
        PipelineOptions options = PipelineOptions.builder().optimizedModelCache(cache).build();
        float[] first;
        float[] second;
        try (Engine cached = Engines.create(options)) {
            first = decode(cached.open(model, "vae_decoder/model.onnx"));
            List<Path> entries;
            try (Stream<Path> files = Files.list(cache)) {
                entries = files.filter(f -> f.toString().endsWith(".onnx")).toList();
            }
            assertEquals(1, entries.size(), "one entry: " + entries);
            assertTrue(entries.get(0).getFileName().toString().startsWith("vae_decoder_model.onnx-"));
            long written = Files.getLastModifiedTime(entries.get(0)).toMillis();
            second = decode(cached.open(model, "vae_decoder/model.onnx"));
            assertEquals(written, Files.getLastModifiedTime(entries.get(0)).toMillis(), "entry reused, not rewritten");
        }
        float[] plain = decode(engine.open(model, "vae_decoder/model.onnx"));
        assertArrayEquals(plain, first, 1e-6f);
        assertArrayEquals(plain, second, 1e-6f);
    }

    @Test
    void everyOptimizationLevelAndMemorySettingRunsTheModel() {
        Path model = TestData.tinyModel().resolve("vae_decoder/model.onnx");
        float[] reference = decode(engine.open(model, "vae"));
        for (GraphOptimization level : GraphOptimization.values()) {
            PipelineOptions options = PipelineOptions.builder().graphOptimization(level).memoryPattern(false)
                    .cpuArena(false).build();
            try (Engine e = Engines.create(options)) {
                assertArrayEquals(reference, decode(e.open(model, "vae")), 1e-5f, level.name());
            }
        }
    }

    /** Decodes fixed latents and closes the session. */
    private static float[] decode(EngineSession session) {
        try (session; HostTensor latents = HostTensor.floats(1, 4, 4, 4); HostTensor image = HostTensor.floats(1, 3, 8, 8);
             Binding b = session.bind(Map.of("latent_sample", latents), Map.of("sample", image))) {
            for (int i = 0; i < latents.size(); i++) {
                latents.floatBuffer().put(i, (i % 5) * 0.4f - 1f);
            }
            b.run();
            return image.toFloatArray();
        }
    }
}
