// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;

/**
 * A cheap preview of SDXL latents without the VAE: each latent pixel's four channels mapped to RGB
 * by a fixed linear fit of the SDXL VAE's decoder (the factors ComfyUI and A1111 use for their
 * "latent RGB" previews), one image pixel per latent pixel (1/8 of the image's side). Good enough
 * to watch a generation converge; the VAE decodes the final image.
 */
public final class LatentPreview {

    // latent channel -> (R, G, B) contribution, and the bias.
    private static final float[][] FACTORS = {
        {0.3920f, 0.4054f, 0.4549f},
        {-0.2634f, -0.0196f, 0.0653f},
        {0.0568f, 0.1687f, -0.0755f},
        {-0.3112f, -0.2359f, -0.2076f},
    };
    private static final float[] BIAS = {0.1084f, -0.0175f, -0.0011f};

    private LatentPreview() {
    }

    /**
     * The preview of image {@code index} of latents {@code [batch, 4, h, w]} (unscaled, as the
     * denoising loop holds them).
     *
     * @throws IllegalArgumentException when the shape is not [batch, 4, h, w] or the index is outside it
     */
    public static BufferedImage of(FloatBuffer latents, long[] shape, int index) {
        if (shape.length != 4 || shape[1] != 4) {
            throw new IllegalArgumentException("latents: shape " + java.util.Arrays.toString(shape)
                    + ", expected [batch, 4, height, width]");
        }
        if (index < 0 || index >= shape[0]) {
            throw new IllegalArgumentException("index: " + index + " is outside [0, " + shape[0] + ")");
        }
        int h = (int) shape[2];
        int w = (int) shape[3];
        int plane = h * w;
        int base = index * 4 * plane;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int p = 0; p < plane; p++) {
            int rgb = 0;
            for (int c = 0; c < 3; c++) {
                float v = BIAS[c];
                for (int k = 0; k < 4; k++) {
                    v += FACTORS[k][c] * latents.get(base + k * plane + p);
                }
                // The fit maps to [-1, 1].
                int byteValue = Math.round(Math.clamp((v + 1f) * 127.5f, 0f, 255f));
                rgb = (rgb << 8) | byteValue;
            }
            img.setRGB(p % w, p / w, rgb);
        }
        return img;
    }
}
