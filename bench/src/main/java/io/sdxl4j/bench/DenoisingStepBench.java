// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

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
 * Time of one denoising step (scale the latents into the UNet batch, the UNet call on
 * [unconditional; conditional], guidance, the scheduler's update), of the UNet call alone, and of
 * the step without the UNet call (the pipeline's overhead, timed directly because at these sizes
 * the difference of the first two is far inside their noise), with guidance (UNet batch 2) at
 * SDXL's sizes, on each engine: {@code ort} (ONNX Runtime Java, tensors bound per call) and
 * {@code javacpp} (the C++ API through JavaCPP, one IoBinding per shape), both on the same ONNX
 * Runtime build (the JavaCPP preset's). The model is the synthetic SDXL or {@code -Dsdxl4j.model}
 * ({@link BenchModel}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class DenoisingStepBench {

    /** Image side in pixels. */
    @Param({"512", "768", "1024"})
    public int size;

    /**
     * The engine, by its registered name; {@code javacpp-resident} is the javacpp engine's device
     * path taken on the CPU (loop tensors in ONNX Runtime's memory, arithmetic in kernel graphs).
     */
    @Param({"ort", "javacpp", "javacpp-resident"})
    public String engine;

    /** Steps of the schedule the benchmark cycles through. */
    @Param({"30"})
    public int steps;

    private StepFixture f;

    @Setup(Level.Trial)
    public void setUp() {
        f = new StepFixture(new BenchModel(BenchModel.options(engine)), size, steps);
    }

    /** UNet + guidance + scheduler step, cycling through the schedule. */
    @Benchmark
    public void step() {
        f.loop.step(f.next());
    }

    /** The step without the UNet call: latents into the batch, timestep, guidance, scheduler update. */
    @Benchmark
    public void overhead() {
        int i = f.next();
        f.loop.beforeUnet(i);
        f.loop.afterUnet(i);
    }

    /** The UNet call alone on the same bound buffers. */
    @Benchmark
    public void unet() {
        f.ws.unet.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        f.close();
    }
}
