// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Classifier-free guidance, ε = ε_u + w·(ε_c − ε_u), on SDXL's 1024×1024 latents. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class GuidanceBench {

    private HostTensor uncond;
    private HostTensor cond;
    private HostTensor guided;

    @Setup(Level.Trial)
    public void setUp() {
        long[] shape = {1, 4, 128, 128};
        TorchGenerator noise = new TorchGenerator(0);
        uncond = HostTensor.floats(shape);
        cond = HostTensor.floats(shape);
        guided = HostTensor.floats(shape);
        HostTensorOps.INSTANCE.randn(uncond, noise);
        HostTensorOps.INSTANCE.randn(cond, noise);
    }

    @Benchmark
    public void guidance() {
        HostTensorOps.INSTANCE.axpby(guided, -4f, uncond, 5f, cond);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        uncond.close();
        cond.close();
        guided.close();
    }
}
