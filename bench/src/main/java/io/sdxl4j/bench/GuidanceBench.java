// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
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
 * Classifier-free guidance, ε = ε_u + w·(ε_c − ε_u), on SDXL's 1024×1024 latents, by each engine's
 * operations: {@code ort} (the host loop of {@code HostTensorOps}) and {@code javacpp-resident}
 * (the javacpp engine's device path taken on the CPU: a kernel graph run through an ONNX Runtime
 * session on ONNX Runtime's memory).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class GuidanceBench {

    /** The engine whose operations run the guidance. */
    @Param({"ort", "javacpp-resident"})
    public String engine;

    private Engine e;
    private TensorOps ops;
    private Tensor uncond;
    private Tensor cond;
    private Tensor guided;

    @Setup(Level.Trial)
    public void setUp() {
        e = Engines.create(PipelineOptions.builder().engine(engine).build());
        ops = e.ops();
        long[] shape = {1, 4, 128, 128};
        TorchGenerator noise = new TorchGenerator(0);
        uncond = ops.allocate(shape);
        cond = ops.allocate(shape);
        guided = ops.allocate(shape);
        ops.randn(uncond, noise);
        ops.randn(cond, noise);
    }

    @Benchmark
    public void guidance() {
        ops.axpby(guided, -4f, uncond, 5f, cond);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        uncond.close();
        cond.close();
        guided.close();
        e.close();
    }
}
