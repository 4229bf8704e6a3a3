// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.pipeline.DenoisingLoop;
import io.sdxl4j.pipeline.Guidance;
import io.sdxl4j.pipeline.TimeIds;
import io.sdxl4j.pipeline.Workspace;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.SchedulerType;
import io.sdxl4j.tensor.TensorOps;
import io.sdxl4j.text.PromptEmbeds;
import io.sdxl4j.ImageSize;
import io.sdxl4j.CropCoords;
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
 * [unconditional; conditional], guidance, the scheduler's update) and of the UNet call alone, with
 * guidance (UNet batch 2) at several image sizes. Their difference is the pipeline's overhead per
 * step. The model is {@code -Dsdxl4j.model} or the built-in tiny one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class DenoisingStepBench {

    /** Image side in pixels. */
    @Param({"64", "128"})
    public int size;

    /** Steps of the schedule the benchmark cycles through. */
    @Param({"30"})
    public int steps;

    private BenchModel model;
    private Workspace ws;
    private Scheduler scheduler;
    private DenoisingLoop loop;
    private int index;

    @Setup(Level.Trial)
    public void setUp() {
        model = new BenchModel();
        int f = model.folder.vae().scaleFactor();
        ws = new Workspace(model.unet, 1, true, model.folder.vae().latentChannels(), size / f, size / f,
                model.text.sequenceLength(), model.text.hiddenSize(), model.text.pooledSize());
        PromptEmbeds positive = model.prompt("a photo of an astronaut riding a horse");
        PromptEmbeds negative = model.prompt("blurry");
        float[] ids = TimeIds.base(new ImageSize(size, size), CropCoords.NONE, new ImageSize(size, size));
        ws.setConditioning(0, 1, negative.hidden(), negative.pooled(), ids);
        ws.setConditioning(1, 2, positive.hidden(), positive.pooled(), ids);
        TensorOps ops = model.engine.ops();
        scheduler = SchedulerType.EULER.create(model.folder.schedulerConfig());
        scheduler.setTimesteps(steps);
        scheduler.begin(ops, ws.latents.shape());
        TorchGenerator noise = new TorchGenerator(42);
        ops.randn(ws.latents, noise);
        ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), ws.latents);
        loop = new DenoisingLoop(ws, scheduler, ops, new Guidance(5.0, 0.0), noise);
    }

    /** UNet + guidance + scheduler step, cycling through the schedule. */
    @Benchmark
    public void step() {
        loop.step(index);
        index = (index + 1) % scheduler.evaluationCount();
    }

    /** The UNet call alone on the same bound buffers. */
    @Benchmark
    public void unet() {
        ws.unet.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ws.close();
        scheduler.close();
        model.close();
    }
}
