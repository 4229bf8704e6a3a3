// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.bench.synthetic.MatMulModel;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.tensor.HostTensor;
import java.io.IOException;
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
 * The machine's fp32 matrix-multiply rate through ONNX Runtime (one n×n·n×n MatMul with a
 * pre-packed weight, 2n³ FLOPs per call), with the same engine settings as the UNet: the ceiling
 * against which the UNet's achieved FLOP rate is read.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class MatMulPeakBench {

    @Param({"1024", "2048"})
    public int n;

    private Path dir;
    private Engine engine;
    private EngineSession session;
    private HostTensor x;
    private HostTensor y;
    private Binding binding;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sdxl4j-matmul-");
        engine = Engines.create(PipelineOptions.defaults());
        session = engine.open(MatMulModel.write(dir, n), "matmul");
        x = HostTensor.floats(n, n);
        for (int i = 0; i < x.size(); i++) {
            x.floatBuffer().put(i, (i % 13) * 0.01f);
        }
        y = HostTensor.floats(n, n);
        binding = session.bind(Map.of("x", x), Map.of("y", y));
    }

    /** One MatMul; GFLOP/s = 2n³ / time. */
    @Benchmark
    public void matmul() {
        binding.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        binding.close();
        x.close();
        y.close();
        session.close();
        engine.close();
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }
}
