// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.engine.OnnxGraph;
import io.sdxl4j.tensor.HostTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What an engine adds to a model call: one bound run of a one-node graph ({@code y = 2·x}) on
 * tensors of SDXL's latent sizes, so that the model's own time is as small as it can be and the
 * binding's cost shows: ONNX Runtime Java's {@code run(inputs, pinnedOutputs)} ({@code ort}) against
 * one {@code IoBinding} made once ({@code javacpp}), on the same ONNX Runtime build.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class EngineCallBench {

    @Param({"ort", "javacpp"})
    public String engine;

    /** Latent side: 8 (a tiny tensor: the fixed cost alone) or 128 (1024×1024 latents, batch 2). */
    @Param({"8", "128"})
    public int side;

    private Path dir;
    private Engine e;
    private EngineSession session;
    private HostTensor x;
    private HostTensor y;
    private Binding binding;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sdxl4j-call");
        Path model = dir.resolve("scale.onnx");
        new OnnxGraph().input("x", OnnxGraph.FLOAT, "n", 4L, "h", "w").scalar("two", 2f)
                .output("y", OnnxGraph.FLOAT, "n", 4L, "h", "w")
                .node("Mul", new String[] {"x", "two"}, "y").write(model);
        e = Engines.create(PipelineOptions.builder().engine(engine).build());
        session = e.open(model, "scale.onnx");
        x = HostTensor.floats(2, 4, side, side);
        y = HostTensor.floats(2, 4, side, side);
        binding = session.bind(Map.of("x", x), Map.of("y", y));
    }

    @Benchmark
    public void call() {
        binding.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        binding.close();
        x.close();
        y.close();
        session.close();
        e.close();
        try {
            Files.deleteIfExists(dir.resolve("scale.onnx"));
            Files.deleteIfExists(dir);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
