// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.SchedulerType;
import io.sdxl4j.pipeline.DenoisingLoop;
import io.sdxl4j.pipeline.Guidance;
import io.sdxl4j.pipeline.Workspace;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.Schedulers;
import io.sdxl4j.tensor.TensorOps;
import io.sdxl4j.PromptEmbeds;

/**
 * A denoising loop ready to step, as the pipeline sets it up for one image with guidance (UNet
 * batch 2, [unconditional; conditional]) at {@code size × size} pixels: workspace bound to the
 * UNet, prompts encoded, latents drawn, Euler over {@code steps} steps.
 */
final class StepFixture implements AutoCloseable {

    final BenchModel model;
    final Workspace ws;
    final Scheduler scheduler;
    final DenoisingLoop loop;
    private int index;

    StepFixture(BenchModel model, int size, int steps) {
        this.model = model;
        int f = model.folder.vae().scaleFactor();
        ws = new Workspace(model.unet, model.engine.ops(), 1, true, model.folder.vae().latentChannels(), size / f, size / f,
                model.text.sequenceLength(), model.text.hiddenSize(), model.text.pooledSize());
        PromptEmbeds positive = model.prompt("a photo of an astronaut riding a horse");
        PromptEmbeds negative = model.prompt("blurry");
        float[] ids = {size, size, 0, 0, size, size}; // SDXL's time ids: original size, crop, target size
        ws.setConditioning(0, 1, negative.hidden(), negative.pooled(), ids);
        ws.setConditioning(1, 2, positive.hidden(), positive.pooled(), ids);
        TensorOps ops = model.engine.ops();
        scheduler = Schedulers.create(SchedulerType.EULER, model.folder.schedulerConfig());
        scheduler.setTimesteps(steps);
        scheduler.begin(ops, ws.latents.shape());
        TorchGenerator noise = new TorchGenerator(42);
        ops.randn(ws.latents, noise);
        ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), ws.latents);
        loop = new DenoisingLoop(ws, scheduler, ops, new Guidance(5.0, 0.0), noise);
    }

    /** The next evaluation of the schedule, cycling. */
    int next() {
        int i = index;
        index = (index + 1) % scheduler.evaluationCount();
        return i;
    }

    @Override
    public void close() {
        ws.close();
        scheduler.close();
        model.close();
    }
}
