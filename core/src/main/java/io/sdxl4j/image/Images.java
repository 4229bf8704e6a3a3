// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;

/** Conversions between VAE tensors, float pixels and {@link BufferedImage}s. */
public final class Images {

    private Images() {
    }

    /**
     * The VAE decoder's output for one image ([3, H, W], values around [-1, 1]) as HWC pixels in
     * [0, 1]: {@code clamp(x / 2 + 0.5, 0, 1)}, diffusers' {@code VaeImageProcessor.postprocess}.
     */
    public static float[] decodedToPixels(FloatBuffer chw, int offset, int width, int height) {
        float[] hwc = new float[width * height * 3];
        int plane = width * height;
        for (int c = 0; c < 3; c++) {
            int base = offset + c * plane;
            for (int i = 0; i < plane; i++) {
                float v = chw.get(base + i) / 2f + 0.5f;
                hwc[i * 3 + c] = Math.min(Math.max(v, 0f), 1f);
            }
        }
        return hwc;
    }

    /**
     * Pixels in [0, 1] (HWC, RGB) to an 8-bit RGB image, rounding half to even as diffusers'
     * {@code numpy_to_pil} does ({@code (x * 255).round()}).
     */
    public static BufferedImage toBufferedImage(float[] hwc, int width, int height) {
        if (hwc.length != width * height * 3) {
            throw new IllegalArgumentException("pixels: " + hwc.length + " values for " + width + "x" + height + "x3");
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = (y * width + x) * 3;
                row[x] = (to8(hwc[i]) << 16) | (to8(hwc[i + 1]) << 8) | to8(hwc[i + 2]);
            }
            image.setRGB(0, y, width, 1, row, 0, width);
        }
        return image;
    }

    private static int to8(float v) {
        return (int) Math.min(Math.max(Math.rint(v * 255f), 0), 255);
    }
}
