// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.model.FakeUnets;
import io.sdxl4j.model.ModelCopies;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The components' sessions open side by side: when one fails, every session the others opened is
 * closed, the failure names the component, and no loading thread outlives the load.
 */
class ParallelLoadTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"text_encoder", "text_encoder_2", "unet", "vae_decoder"})
    void aComponentThatFailsToOpenClosesEverySessionTheOthersOpened(String broken) throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Path file = m.resolve(broken).resolve("model.onnx");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 3));
        try (CountingEngine engine = new CountingEngine()) {
            SdxlException e = assertThrows(SdxlException.class, () -> LoadedModel.open(ModelFolder.open(m), engine,
                    null, PipelineOptions.defaults()));
            assertTrue(e.getMessage().startsWith(broken + "/model.onnx: "), e.getMessage());
            Set<String> others = new java.util.TreeSet<>(Set.of("text_encoder/model.onnx",
                    "text_encoder_2/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx"));
            others.remove(broken + "/model.onnx");
            if (!broken.equals("text_encoder")) {
                // The first text encoder opens before the second, in the same task.
                assertEquals(others, new java.util.TreeSet<>(engine.opened), "every other component was opened");
            }
            assertEquals(Set.of(), engine.open.keySet(), "and closed again");
        }
        assertEquals(List.of(), loadThreads(), "no loading thread left");
    }

    @Test
    void aSignatureMismatchFoundAfterTheOpensClosesThemAll() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        FakeUnets.writeFloat32(m.resolve("unet/model.onnx"), 2048, 1280, 6);
        try (CountingEngine engine = new CountingEngine()) {
            SdxlException e = assertThrows(SdxlException.class, () -> LoadedModel.open(ModelFolder.open(m), engine,
                    null, PipelineOptions.defaults()));
            assertTrue(e.getMessage().contains("encoder_hidden_states"), e.getMessage());
            assertEquals(4, engine.opened.size(), engine.opened.toString());
            assertEquals(Set.of(), engine.open.keySet());
        }
        assertEquals(List.of(), loadThreads());
    }

    @Test
    void aGoodLoadKeepsItsSessionsUntilClosed() throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        try (CountingEngine engine = new CountingEngine()) {
            LoadedModel model = LoadedModel.open(ModelFolder.open(m), engine, null, PipelineOptions.defaults());
            assertEquals(4, engine.open.size(), engine.open.toString());
            model.close();
            assertEquals(Set.of(), engine.open.keySet());
        }
        assertEquals(List.of(), loadThreads());
    }

    private static List<String> loadThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("sdxl4j-load-")).toList();
    }

    /** The ort engine, counting the sessions it opened and those still open (by label). */
    private static final class CountingEngine implements Engine {
        private final Engine inner = Engines.create(PipelineOptions.defaults());
        final Set<String> opened = ConcurrentHashMap.newKeySet();
        final Map<String, Integer> open = new ConcurrentHashMap<>();

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public EngineSession open(ModelSource source, String label) {
            EngineSession s = inner.open(source, label);
            opened.add(label);
            open.merge(label, 1, Integer::sum);
            return new EngineSession() {
                private boolean closed;

                @Override
                public String label() {
                    return s.label();
                }

                @Override
                public List<TensorSpec> inputs() {
                    return s.inputs();
                }

                @Override
                public List<TensorSpec> outputs() {
                    return s.outputs();
                }

                @Override
                public Binding bind(Map<String, ? extends Tensor> inputs, Map<String, ? extends Tensor> outputs) {
                    return s.bind(inputs, outputs);
                }

                @Override
                public void close() {
                    if (!closed) {
                        closed = true;
                        open.computeIfPresent(label, (k, n) -> n == 1 ? null : n - 1);
                    }
                    s.close();
                }
            };
        }

        @Override
        public TensorOps ops() {
            return inner.ops();
        }

        @Override
        public String describe() {
            return "counting " + inner.describe();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
