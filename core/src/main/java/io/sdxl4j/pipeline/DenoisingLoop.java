// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;

/**
 * The denoising loop every mode drives (txt2img from the first evaluation; img2img, inpainting and
 * the refiner from a later one; an ensemble base up to an earlier end): per evaluation, scale the
 * latents into the UNet input, one UNet call on the whole batch, guidance, the scheduler's update.
 * It works only on the workspace's buffers, so a step allocates nothing.
 */
public final class DenoisingLoop {

    private final Workspace ws;
    private final Scheduler scheduler;
    private final TensorOps ops;
    private final Guidance guidance;
    private final NoiseSource noise;
    private final StepHook hook;
    private final double[] stdConditional;
    private final double[] stdGuided;

    /** A step of work after each scheduler update (inpainting's re-blend of the known region). */
    @FunctionalInterface
    public interface StepHook {
        /** No work. */
        StepHook NONE = (scheduler, index, last, latents) -> { };

        /**
         * @param index the evaluation just done
         * @param last  whether it is the last of this run
         */
        void afterStep(Scheduler scheduler, int index, boolean last, Tensor latents);
    }

    public DenoisingLoop(Workspace ws, Scheduler scheduler, TensorOps ops, Guidance guidance, NoiseSource noise) {
        this(ws, scheduler, ops, guidance, noise, StepHook.NONE);
    }

    public DenoisingLoop(Workspace ws, Scheduler scheduler, TensorOps ops, Guidance guidance, NoiseSource noise,
                         StepHook hook) {
        if (guidance.enabled() != ws.guidance()) {
            throw new IllegalArgumentException("guidance " + guidance + " does not match the workspace");
        }
        this.ws = ws;
        this.scheduler = scheduler;
        this.ops = ops;
        this.guidance = guidance;
        this.noise = noise;
        this.hook = hook;
        this.stdConditional = new double[ws.images()];
        this.stdGuided = new double[ws.images()];
    }

    /**
     * Runs evaluations {@code [from, to)}.
     *
     * @return the number of evaluations done (less than requested when the callback stopped the loop)
     */
    public int run(int from, int to, StepCallback callback) {
        int total = to - from;
        for (int i = from; i < to; i++) {
            step(i);
            hook.afterStep(scheduler, i, i == to - 1, ws.latents);
            if (!callback.afterStep(i, i - from + 1, total)) {
                return i - from + 1;
            }
        }
        return total;
    }

    /** One evaluation: UNet on the scaled latents, guidance, scheduler update of the latents. */
    public void step(int index) {
        beforeUnet(index);
        ws.unet.run();
        afterUnet(index);
    }

    /**
     * The step's work before the UNet call: the latents scaled into every row of the UNet's batch,
     * the timestep. With {@link #afterUnet} it is the pipeline's overhead per step, which the
     * benchmarks time apart from the UNet.
     */
    public void beforeUnet(int index) {
        float scale = (float) scheduler.inputScale(index);
        for (Tensor half : ws.sampleHalves) {
            ops.scaleIntoChannels(half, 0, scale, ws.latents);
        }
        ws.setTimestep(scheduler.timestep(index));
    }

    /** The step's work after the UNet call: guidance (and its rescale), the scheduler's update. */
    public void afterUnet(int index) {
        if (guidance.enabled()) {
            Tensor uncond = ws.outHalves[0];
            Tensor cond = ws.outHalves[1];
            float w = (float) guidance.scale();
            ops.axpby(ws.guided, 1f - w, uncond, w, cond);
            if (guidance.rescale() > 0) {
                rescale(cond);
            }
        }
        scheduler.step(ws.guided, index, ws.latents, noise);
    }

    private void rescale(Tensor cond) {
        rescale(ops, guidance.rescale(), cond, ws.guided, ws.guidedItems, stdConditional, stdGuided);
    }

    /**
     * Guidance rescale, Lin et al. 2023, eq. 15–16 (diffusers' {@code rescale_noise_cfg}): each
     * image's guided prediction is scaled to the conditional prediction's standard deviation, then
     * blended with the unscaled one by φ. {@code items} are the per-image views of {@code guided};
     * the two arrays are scratch of one slot per image.
     */
    static void rescale(TensorOps ops, double phi, Tensor cond, Tensor guided, Tensor[] items, double[] stdCond,
                        double[] stdGuided) {
        ops.stdPerItem(cond, stdCond);
        ops.stdPerItem(guided, stdGuided);
        for (int i = 0; i < items.length; i++) {
            double factor = phi * stdCond[i] / stdGuided[i] + (1 - phi);
            ops.scale(items[i], (float) factor, items[i]);
        }
    }
}
