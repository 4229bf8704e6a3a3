// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.image.ImageProcessing;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.HostTensor;
import java.awt.image.BufferedImage;

/** Input images on their way into latent space, as diffusers' img2img and inpainting pipelines prepare them. */
final class ImageLatents {

    private ImageLatents() {
    }

    /** An RGB image as the VAE's input {@code [1, 3, H, W]} in [−1, 1]. */
    static HostTensor pixels(BufferedImage image, Scope scope) {
        HostTensor pixels = scope.add(HostTensor.floats(1, 3, image.getHeight(), image.getWidth()));
        ImageProcessing.toTensor(image, pixels);
        return pixels;
    }

    /**
     * The scaled latents of one image, repeated for every image of the batch: one VAE encode and one
     * draw from the noise, as diffusers encodes the image once and concatenates it per prompt image.
     */
    static HostTensor encode(LoadedModel model, HostTensor pixels, NoiseSource noise, int images, Scope scope) {
        int scale = model.folder().vae().scaleFactor();
        HostTensor one = scope.add(HostTensor.floats(1, model.folder().vae().latentChannels(),
                pixels.dim(2) / scale, pixels.dim(3) / scale));
        model.encoder().encode(pixels, one, noise);
        return repeat(one, images, scope);
    }

    /** {@code one} ([1, …]) repeated {@code rows} times along the batch axis. */
    static HostTensor repeat(HostTensor one, int rows, Scope scope) {
        long[] shape = one.shape();
        shape[0] = rows;
        HostTensor out = scope.add(HostTensor.floats(shape));
        for (int r = 0; r < rows; r++) {
            out.slice(r, r + 1).copyFrom(one);
        }
        return out;
    }
}
