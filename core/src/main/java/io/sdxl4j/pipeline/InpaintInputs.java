// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.image.ImageProcessing;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;

/**
 * Inpainting's inputs, prepared as diffusers' {@code StableDiffusionXLInpaintPipeline} does: the
 * image resized to the output, the mask blurred, resized and binarised, the masked image
 * ({@code image · (mask < 0.5)}), their latents, the latent-size mask, and the starting latents.
 * The noise is drawn in diffusers' order: the image's latents (only when the UNet has 4 channels
 * or the strength is below 1), the start noise, then the masked image's latents (always).
 */
final class InpaintInputs {

    private InpaintInputs() {
    }

    /**
     * Fills {@code ws.latents} with the starting latents and, for a 9-channel UNet, the workspace's
     * mask and masked-image channels.
     *
     * @return the step hook of a 4-channel UNet (the kept region re-blended after every step), else
     *         {@link DenoisingLoop.StepHook#NONE}
     */
    static DenoisingLoop.StepHook prepare(GenerationMode.Inpaint mode, ResolvedRequest r, LoadedModel model,
                                          Workspace ws, Schedule schedule, NoiseSource noise, TensorOps ops,
                                          Scope scope) {
        int width = r.width();
        int height = r.height();
        int images = r.request().samples();
        BufferedImage image = ImageProcessing.resize(mode.image().decode(), width, height);
        BufferedImage maskImage = decodeMask(mode);
        HostTensor pixels = ImageLatents.pixels(image, scope);
        HostTensor mask = scope.add(HostTensor.floats(1, 1, height, width));
        ImageProcessing.maskToTensor(maskImage, mode.maskBlur(), mask);

        boolean nineChannels = model.unet().inChannels() > ws.latents.shape()[1];
        boolean fullStrength = mode.strength() == 1.0;
        Scheduler scheduler = schedule.scheduler();
        Tensor imageLatents = nineChannels && fullStrength ? null
                : scope.add(ops.onEngine(ImageLatents.encode(model, pixels, noise, images, scope)));
        Tensor startNoise = scope.add(ops.allocate(ws.latents.shape()));
        ops.randn(startNoise, noise);
        if (fullStrength) {
            ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), startNoise);
        } else {
            scheduler.addNoise(imageLatents, startNoise, schedule.from(), ws.latents);
        }
        HostTensor masked = scope.add(HostTensor.floats(1, 3, height, width));
        FloatBuffer p = pixels.floatBuffer();
        FloatBuffer m = mask.floatBuffer();
        FloatBuffer out = masked.floatBuffer();
        int plane = width * height;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                out.put(c * plane + i, m.get(i) < 0.5f ? p.get(c * plane + i) : 0f);
            }
        }
        Tensor maskedLatents = scope.add(ops.onEngine(ImageLatents.encode(model, masked, noise, images, scope)));
        int f = model.folder().vae().scaleFactor();
        Tensor latentMask = scope.add(ops.onEngine(ImageLatents.repeat(nearest(mask, height / f, width / f, scope),
                images, scope)));
        if (nineChannels) {
            ws.setInpaintingChannels(latentMask, maskedLatents);
            return DenoisingLoop.StepHook.NONE;
        }
        return scope.add(new Inpainting(ops, imageLatents, startNoise, latentMask));
    }

    private static BufferedImage decodeMask(GenerationMode.Inpaint mode) {
        try {
            return mode.mask().decode();
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException("mask", e.value().orElse(null), e.reason());
        }
    }

    /** {@code F.interpolate(mask, size)} in its default nearest mode: source index ⌊i·in/out⌋. */
    private static HostTensor nearest(HostTensor mask, int h, int w, Scope scope) {
        HostTensor out = scope.add(HostTensor.floats(1, 1, h, w));
        int srcH = (int) mask.dim(2);
        int srcW = (int) mask.dim(3);
        FloatBuffer src = mask.floatBuffer();
        FloatBuffer dst = out.floatBuffer();
        for (int y = 0; y < h; y++) {
            int sy = (int) Math.floor(y * ((double) srcH / h));
            for (int x = 0; x < w; x++) {
                int sx = (int) Math.floor(x * ((double) srcW / w));
                dst.put(y * w + x, src.get(sy * srcW + sx));
            }
        }
        return out;
    }
}
