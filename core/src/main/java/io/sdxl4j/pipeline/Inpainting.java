// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;

/**
 * Inpainting with a plain 4-channel UNet, as diffusers' {@code StableDiffusionXLInpaintPipeline}
 * does it: after every step the region to keep is replaced by the source image's latents noised
 * to the next step's level (with the same noise the start used), so that only the masked region is
 * generated: {@code x = (1 − m)·noised(x₀) + m·x}.
 */
final class Inpainting implements DenoisingLoop.StepHook, AutoCloseable {

    private final TensorOps ops;
    private final Tensor imageLatents;
    private final Tensor noise;
    private final Tensor mask;
    private final Tensor proper;

    /**
     * @param imageLatents the source image's latents, one row per image [B, 4, h, w]
     * @param noise        the noise the start was made with [B, 4, h, w]
     * @param mask         the latent-size mask, 1 where to generate [B, 1, h, w]
     */
    public Inpainting(TensorOps ops, Tensor imageLatents, Tensor noise, Tensor mask) {
        this.ops = ops;
        this.imageLatents = imageLatents;
        this.noise = noise;
        this.mask = mask;
        this.proper = ops.allocate(imageLatents.shape());
    }

    @Override
    public void afterStep(Scheduler scheduler, int index, boolean last, Tensor latents) {
        if (last) {
            ops.copy(proper, imageLatents);
        } else {
            scheduler.addNoise(imageLatents, noise, index + 1, proper);
        }
        ops.maskedBlend(latents, proper, mask);
    }

    @Override
    public void close() {
        proper.close();
    }
}
