// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.SchedulerType;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.SchedulerConfig;
import io.sdxl4j.scheduler.Schedulers;
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
 * One update of each scheduler on SDXL's 1024×1024 latents ([1, 4, 128, 128]), cycling through a
 * 30-step schedule (8 for LCM): the per-step cost a scheduler adds to the UNet call, by each
 * engine's operations ({@code ort}: host memory; {@code javacpp-resident}: the device path's
 * kernel graphs, here on the CPU).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class SchedulerStepBench {

    /** Every scheduler type, by short name. */
    @Param({"euler", "euler_karras", "euler_a", "ddim", "ddpm", "dpmpp_2m", "dpmpp_2m_karras", "dpmpp_2m_sde",
        "dpmpp_2m_sde_karras", "dpmpp_2s", "unipc", "heun", "heun_karras", "lms", "lms_karras", "kdpm2", "kdpm2_karras",
        "kdpm2_a", "kdpm2_a_karras", "lcm", "pndm"})
    public String scheduler;

    /** The engine whose operations run the update. */
    @Param({"ort"})
    public String engine;

    private static final long[] SHAPE = {1, 4, 128, 128};
    private Engine e;
    private TensorOps ops;
    private Scheduler s;
    private Tensor latents;
    private Tensor modelOutput;
    private TorchGenerator noise;
    private int index;

    @Setup(Level.Trial)
    public void setUp() {
        e = Engines.create(PipelineOptions.builder().engine(engine).build());
        ops = e.ops();
        s = Schedulers.create(SchedulerType.parse(scheduler), SchedulerConfig.sdxlDefault());
        s.setTimesteps(scheduler.equals("lcm") ? 8 : 30);
        s.begin(ops, SHAPE);
        noise = new TorchGenerator(0);
        latents = ops.allocate(SHAPE);
        modelOutput = ops.allocate(SHAPE);
        ops.randn(latents, noise);
        ops.randn(modelOutput, noise);
    }

    /** The scheduler's update of the latents. */
    @Benchmark
    public void step() {
        s.step(modelOutput, index, latents, noise);
        index = (index + 1) % s.evaluationCount();
        if (index == 0) {
            s.begin(ops, SHAPE);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        s.close();
        latents.close();
        modelOutput.close();
        e.close();
    }
}
