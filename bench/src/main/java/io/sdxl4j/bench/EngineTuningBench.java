// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.GraphOptimization;
import io.sdxl4j.PipelineOptions;
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
 * The UNet call (batch 2) under each engine setting, one changed at a time from the defaults, on
 * the same model: how {@link PipelineOptions}' defaults were chosen. {@code fp16} runs the fp16
 * export of the same synthetic model on the CPU.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class EngineTuningBench {

    @Param({"default", "level=DISABLED", "level=BASIC", "level=EXTENDED", "arena=off", "pattern=off", "threads=1",
            "fp16"})
    public String variant;

    @Param({"512"})
    public int size;

    private StepFixture f;

    @Setup(Level.Trial)
    public void setUp() {
        PipelineOptions.Builder o = PipelineOptions.builder();
        boolean fp16 = false;
        switch (variant) {
            case "default" -> { }
            case "arena=off" -> o.cpuArena(false);
            case "pattern=off" -> o.memoryPattern(false);
            case "threads=1" -> o.intraOpThreads(1);
            case "fp16" -> fp16 = true;
            default -> o.graphOptimization(GraphOptimization.valueOf(variant.substring("level=".length())));
        }
        BenchModel model = System.getProperty("sdxl4j.model", "").isBlank()
                ? new BenchModel(BenchModel.synthetic(fp16), o.build()) : new BenchModel(o.build());
        f = new StepFixture(model, size, 30);
    }

    @Benchmark
    public void unet() {
        f.ws.unet.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        f.close();
    }
}
