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
import io.sdxl4j.model.FakeUnets;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every engine's sessions and bindings must do, run once per engine on the class path: core
 * has {@code ort}; the native module runs this class again with {@code javacpp} beside it.
 */
class EngineContractTest {

    private static final Path VAE = TestData.tinyModel().resolve("vae_decoder/model.onnx");

    static List<String> engines() {
        return Engines.available().stream().sorted().toList();
    }

    private static Engine engine(String name) {
        return Engines.create(PipelineOptions.builder().engine(name).build());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void reportsTheDeclaredSignature(String name) {
        try (Engine engine = engine(name); EngineSession vae = engine.open(VAE, "vae_decoder/model.onnx")) {
            TensorSpec in = vae.input("latent_sample").orElseThrow();
            assertEquals(DataType.FLOAT32, in.dataType());
            assertEquals("FLOAT32[batch_size,4,latent_height,latent_width]", in.describe());
            assertEquals("sample", vae.outputs().get(0).name());
            assertEquals(name, engine.name());
            assertTrue(engine.describe().startsWith(name + " (ONNX Runtime "), engine.describe());
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void runsInPlaceOnTheBoundBuffersEveryTime(String name) {
        try (Engine engine = engine(name); EngineSession vae = engine.open(VAE, "vae_decoder/model.onnx");
             HostTensor latents = HostTensor.floats(1, 4, 4, 4);
             HostTensor image = HostTensor.floats(1, 3, 8, 8);
             HostTensor reference = HostTensor.floats(1, 3, 8, 8);
             Binding b = vae.bind(Map.of("latent_sample", latents), Map.of("sample", image))) {
            b.run();
            float[] fromZeros = image.toFloatArray();
            // Writing the bound input buffer is enough: the next run sees it and writes the bound
            // output buffer.
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

    @ParameterizedTest
    @MethodSource("engines")
    void everyEngineDecodesAsTheDefaultEngineDoes(String name) {
        float[] reference;
        try (Engine ort = engine(PipelineOptions.DEFAULT_ENGINE)) {
            reference = decode(ort.open(VAE, "vae"));
        }
        try (Engine engine = engine(name)) {
            assertArrayEquals(reference, decode(engine.open(VAE, "vae")), 1e-6f);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void float16AndInt64GraphTensorsAreConvertedAtTheBoundary(String name, @TempDir Path dir) throws IOException {
        Path fp32 = dir.resolve("fp32.onnx");
        Path fp16 = dir.resolve("fp16.onnx");
        FakeUnets.writeFloat32(fp32, 8, 4, 6);
        FakeUnets.writeFloat16(fp16, 8, 4, 6);
        try (Engine engine = engine(name)) {
            float[] a = fakeUnet(engine.open(fp32, "unet/model.onnx"), HostTensor.floats());
            float[] b = fakeUnet(engine.open(fp16, "unet/model.onnx"), HostTensor.allocate(DataType.INT64, 2));
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 2e-3 * Math.max(1, Math.abs(a[i])), "element " + i);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void bindingRejectsUnknownNamesAndWrongShapes(String name) {
        try (Engine engine = engine(name); EngineSession vae = engine.open(VAE, "vae_decoder/model.onnx");
             HostTensor latents = HostTensor.floats(1, 3, 4, 4); HostTensor image = HostTensor.floats(1, 3, 8, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> vae.bind(Map.of("latent_sample", latents), Map.of("sample", image)));
            assertTrue(e.getMessage().contains("latent_sample") && e.getMessage().contains("(1, 3, 4, 4)"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> vae.bind(Map.of("latents", latents), Map.of("sample", image)));
            assertTrue(e.getMessage().contains("[latent_sample]"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aMissingOrDamagedFileIsNamed(String name, @TempDir Path dir) throws IOException {
        try (Engine engine = engine(name)) {
            SdxlException e = assertThrows(SdxlException.class,
                    () -> engine.open(Path.of("does-not-exist.onnx"), "unet/model.onnx"));
            assertTrue(e.getMessage().startsWith("unet/model.onnx: file not found"), e.getMessage());
            Path damaged = Files.write(dir.resolve("model.onnx"), new byte[] {1, 2, 3, 4, 5});
            e = assertThrows(SdxlException.class, () -> engine.open(damaged, "vae_decoder/model.onnx"));
            assertTrue(e.getMessage().startsWith("vae_decoder/model.onnx: cannot load the ONNX model"),
                    e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void closeIsIdempotentAndUseAfterCloseThrows(String name) {
        Engine engine = engine(name);
        EngineSession s = engine.open(VAE, "vae");
        try (HostTensor t = HostTensor.floats(1, 4, 2, 2); HostTensor o = HostTensor.floats(1, 3, 4, 4)) {
            Binding b = s.bind(Map.of("latent_sample", t), Map.of("sample", o));
            b.close();
            b.close();
            assertThrows(IllegalStateException.class, b::run);
            s.close();
            s.close();
            assertThrows(IllegalStateException.class, () -> s.bind(Map.of("latent_sample", t), Map.of("sample", o)));
        }
        engine.close();
        engine.close();
        assertThrows(IllegalStateException.class, () -> engine.open(VAE, "vae"));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void optimizedModelCacheIsWrittenOnceAndGivesTheSameResults(String name, @TempDir Path cache) throws Exception {
        PipelineOptions options = PipelineOptions.builder().engine(name).optimizedModelCache(cache).build();
        float[] first;
        float[] second;
        try (Engine cached = Engines.create(options)) {
            first = decode(cached.open(VAE, "vae_decoder/model.onnx"));
            List<Path> entries = cacheEntries(cache);
            assertEquals(1, entries.size(), "one entry: " + entries);
            assertTrue(entries.get(0).getParent().getFileName().toString().startsWith("vae_decoder_model.onnx-"));
            long written = Files.getLastModifiedTime(entries.get(0)).toMillis();
            second = decode(cached.open(VAE, "vae_decoder/model.onnx"));
            assertEquals(written, Files.getLastModifiedTime(entries.get(0)).toMillis(), "entry reused, not rewritten");
            assertEquals(entries, cacheEntries(cache));
        }
        float[] plain;
        try (Engine engine = engine(name)) {
            plain = decode(engine.open(VAE, "vae_decoder/model.onnx"));
        }
        assertArrayEquals(plain, first, 1e-6f);
        assertArrayEquals(plain, second, 1e-6f);
        assertEquals(List.of(), leftovers(cache), "no writer's folder left behind");
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aTornCacheEntryIsIgnoredAndWrittenAgain(String name, @TempDir Path cache) throws Exception {
        PipelineOptions options = PipelineOptions.builder().engine(name).optimizedModelCache(cache).build();
        float[] plain;
        try (Engine engine = engine(name)) {
            plain = decode(engine.open(VAE, "vae_decoder/model.onnx"));
        }
        try (Engine cached = Engines.create(options)) {
            cached.open(VAE, "vae_decoder/model.onnx").close();
            Path entry = cacheEntries(cache).get(0);
            // A file of the entry cut short, as a full disk or a copy interrupted would leave it.
            for (Path f : List.of(entry.resolveSibling(OptimizedModelCache.DATA_FILE), entry)) {
                byte[] whole = Files.readAllBytes(f);
                Files.write(f, java.util.Arrays.copyOf(whole, whole.length / 2));
                assertArrayEquals(plain, decode(cached.open(VAE, "vae_decoder/model.onnx")), 1e-6f, f.toString());
                assertEquals(List.of(entry), cacheEntries(cache));
                assertEquals(whole.length, Files.size(f), "written again whole: " + f);
                assertArrayEquals(plain, decode(cached.open(VAE, "vae_decoder/model.onnx")), 1e-6f,
                        "the rewritten entry loads");
            }
        }
        assertEquals(List.of(), leftovers(cache));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void twoWritersOfOneEntryLeaveOneWholeEntry(String name, @TempDir Path cache) throws Exception {
        PipelineOptions options = PipelineOptions.builder().engine(name).optimizedModelCache(cache).build();
        try (Engine a = Engines.create(options); Engine b = Engines.create(options);
             var threads = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var barrier = new java.util.concurrent.CyclicBarrier(2);
            List<java.util.concurrent.Future<float[]>> runs = new java.util.ArrayList<>();
            for (Engine e : List.of(a, b)) {
                runs.add(threads.submit(() -> {
                    barrier.await();
                    return decode(e.open(VAE, "vae_decoder/model.onnx"));
                }));
            }
            assertArrayEquals(runs.get(0).get(), runs.get(1).get(), 1e-6f);
            assertEquals(1, cacheEntries(cache).size(), "one entry: " + cacheEntries(cache));
            assertEquals(List.of(), leftovers(cache));
            assertArrayEquals(runs.get(0).get(), decode(a.open(VAE, "vae_decoder/model.onnx")), 1e-6f);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aChangedWeightsFileIsANewEntry(String name, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("vae_decoder/model.onnx");
        Files.createDirectories(model.getParent());
        Files.copy(VAE, model);
        Path data = model.resolveSibling("model.onnx_data");
        Files.write(data, new byte[16]);
        Path cache = dir.resolve("cache");
        PipelineOptions options = PipelineOptions.builder().engine(name).optimizedModelCache(cache).build();
        try (Engine e = Engines.create(options)) {
            e.open(model, "vae_decoder/model.onnx").close();
            e.open(model, "vae_decoder/model.onnx").close();
            assertEquals(1, cacheEntries(cache).size());
            // The external weights replaced beside an unchanged .onnx file: the old graph is stale.
            Files.write(data, new byte[32]);
            e.open(model, "vae_decoder/model.onnx").close();
            assertEquals(2, cacheEntries(cache).size());
        }
    }

    /** The cache's complete entries: {@code <entry>/model.onnx}. */
    private static List<Path> cacheEntries(Path cache) throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.filter(Files::isDirectory).map(d -> d.resolve(OptimizedModelCache.MODEL_FILE))
                    .filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** What is in the cache folder besides complete entries (writers' and discarded folders). */
    private static List<Path> leftovers(Path cache) throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.filter(f -> !Files.isRegularFile(f.resolve(OptimizedModelCache.MODEL_FILE))).toList();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void everyOptimizationLevelAndMemorySettingRunsTheModel(String name) {
        float[] reference;
        try (Engine engine = engine(name)) {
            reference = decode(engine.open(VAE, "vae"));
        }
        for (GraphOptimization level : GraphOptimization.values()) {
            PipelineOptions options = PipelineOptions.builder().engine(name).graphOptimization(level)
                    .memoryPattern(false).cpuArena(false).build();
            try (Engine e = Engines.create(options)) {
                assertArrayEquals(reference, decode(e.open(VAE, "vae")), 1e-5f, level.name());
            }
        }
    }

    @Test
    void cudaGraphsAreRefusedByTheOrtEngineWithTheEngineThatHasThem() {
        PipelineOptions options = PipelineOptions.builder()
                .provider(io.sdxl4j.ExecutionProvider.cuda().withCudaGraph(true)).build();
        SdxlException e = assertThrows(SdxlException.class, () -> Engines.create(options).close());
        assertTrue(e.getMessage().startsWith("provider: CUDA graphs need") && e.getMessage().contains("javacpp"),
                e.getMessage());
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

    /** One run of a fake UNet (batch 2, 8x8 latents) on fixed float inputs; closes the session and the timestep. */
    private static float[] fakeUnet(EngineSession session, HostTensor timestep) {
        try (session; timestep; HostTensor sample = HostTensor.floats(2, 4, 8, 8);
             HostTensor ehs = HostTensor.floats(2, 77, 8); HostTensor pooled = HostTensor.floats(2, 4);
             HostTensor ids = HostTensor.floats(2, 6); HostTensor out = HostTensor.floats(2, 4, 8, 8)) {
            for (HostTensor t : List.of(sample, ehs, pooled, ids)) {
                for (int i = 0; i < t.size(); i++) {
                    t.floatBuffer().put(i, (i % 11) * 0.25f - 1f);
                }
            }
            if (timestep.dataType() == DataType.INT64) {
                timestep.longBuffer().put(0, 500).put(1, 500);
            } else {
                timestep.floatBuffer().put(0, 500f);
            }
            Map<String, HostTensor> in = Map.of("sample", sample, "timestep", timestep, "encoder_hidden_states", ehs,
                    "text_embeds", pooled, "time_ids", ids);
            try (Binding b = session.bind(in, Map.of("out_sample", out))) {
                b.run();
            }
            return out.toFloatArray();
        }
    }
}
