// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import io.sdxl4j.tensor.HostTensor;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;

/**
 * What diffusers' {@code VaeImageProcessor} does to input images and masks: Lanczos resizing as
 * PIL does it, RGB to [−1, 1], masks to one binary channel (PIL's "L" conversion, then
 * {@code mask < 0.5 → 0}), and the optional Gaussian mask blur.
 */
public final class ImageProcessing {

    private ImageProcessing() {
    }

    /**
     * Resizes with a Lanczos-3 filter whose support widens with the reduction, as PIL's
     * {@code Image.resize(..., LANCZOS)} (separable, horizontal then vertical pass).
     */
    public static BufferedImage resize(BufferedImage src, int width, int height) {
        if (src.getWidth() == width && src.getHeight() == height) {
            return src;
        }
        int sw = src.getWidth();
        int sh = src.getHeight();
        float[][] channels = new float[3][sw * sh];
        for (int y = 0; y < sh; y++) {
            for (int x = 0; x < sw; x++) {
                int rgb = src.getRGB(x, y);
                channels[0][y * sw + x] = (rgb >> 16) & 0xFF;
                channels[1][y * sw + x] = (rgb >> 8) & 0xFF;
                channels[2][y * sw + x] = rgb & 0xFF;
            }
        }
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        float[][] resized = new float[3][];
        for (int c = 0; c < 3; c++) {
            float[] horizontal = resample(channels[c], sw, sh, width, true);
            resized[c] = resample(horizontal, width, sh, height, false);
        }
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = y * width + x;
                out.setRGB(x, y, clamp8(resized[0][i]) << 16 | clamp8(resized[1][i]) << 8 | clamp8(resized[2][i]));
            }
        }
        return out;
    }

    // One separable pass of PIL's resampling: for each output position a normalised Lanczos window
    // over the inputs whose centres fall within the filter's support, scaled when reducing.
    private static float[] resample(float[] in, int w, int h, int outLength, boolean horizontal) {
        int inLength = horizontal ? w : h;
        double scale = (double) inLength / outLength;
        double filterScale = Math.max(scale, 1.0);
        double support = 3.0 * filterScale;
        int outW = horizontal ? outLength : w;
        int outH = horizontal ? h : outLength;
        float[] out = new float[outW * outH];
        double[] weights = new double[(int) Math.ceil(support) * 2 + 2];
        for (int o = 0; o < outLength; o++) {
            double center = (o + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), inLength);
            double total = 0;
            for (int i = min; i < max; i++) {
                double wgt = lanczos((i - center + 0.5) / filterScale);
                weights[i - min] = wgt;
                total += wgt;
            }
            for (int other = 0; other < (horizontal ? h : w); other++) {
                double acc = 0;
                for (int i = min; i < max; i++) {
                    int index = horizontal ? other * w + i : i * w + other;
                    acc += weights[i - min] * in[index];
                }
                int target = horizontal ? other * outW + o : o * outW + other;
                out[target] = (float) (total == 0 ? 0 : acc / total);
            }
        }
        return out;
    }

    private static double lanczos(double x) {
        if (x == 0) {
            return 1;
        }
        if (x <= -3 || x >= 3) {
            return 0;
        }
        double px = Math.PI * x;
        return 3 * Math.sin(px) * Math.sin(px / 3) / (px * px);
    }

    private static int clamp8(float v) {
        return (int) Math.min(Math.max(Math.round(v), 0), 255);
    }

    /** RGB pixels into {@code dst} [1, 3, H, W] as {@code 2·(v/255) − 1}. */
    public static void toTensor(BufferedImage image, HostTensor dst) {
        int w = image.getWidth();
        int h = image.getHeight();
        check(dst, 3, w, h);
        FloatBuffer f = dst.floatBuffer();
        int plane = w * h;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = image.getRGB(x, y);
                int i = y * w + x;
                f.put(i, 2f * (((rgb >> 16) & 0xFF) / 255f) - 1f);
                f.put(plane + i, 2f * (((rgb >> 8) & 0xFF) / 255f) - 1f);
                f.put(2 * plane + i, 2f * ((rgb & 0xFF) / 255f) - 1f);
            }
        }
    }

    /**
     * A mask into {@code dst} [1, 1, H, W]: grey level as PIL's {@code convert("L")} computes it
     * (ITU-R 601 weights in fixed point), scaled to [0, 1], then binarised: white (≥ 0.5) repaints.
     */
    public static void maskToTensor(BufferedImage mask, HostTensor dst) {
        int w = mask.getWidth();
        int h = mask.getHeight();
        check(dst, 1, w, h);
        FloatBuffer f = dst.floatBuffer();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                f.put(y * w + x, grey(mask.getRGB(x, y)) / 255f < 0.5f ? 0f : 1f);
            }
        }
    }

    static int grey(int rgb) {
        int r = (rgb >> 16) & 0xFF;
        int g = (rgb >> 8) & 0xFF;
        int b = rgb & 0xFF;
        return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }

    /**
     * Gaussian blur of a mask's grey levels, as PIL's {@code GaussianBlur(radius)} (three box-blur
     * passes of the width that gives σ = radius), which diffusers' {@code VaeImageProcessor.blur} uses.
     */
    public static BufferedImage blur(BufferedImage mask, int radius) {
        if (radius <= 0) {
            return mask;
        }
        int w = mask.getWidth();
        int h = mask.getHeight();
        float[] v = new float[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                v[y * w + x] = grey(mask.getRGB(x, y));
            }
        }
        // PIL's _gaussian_blur_radius: the box radius whose three passes give variance σ².
        double boxRadius = Math.sqrt(radius * radius * 12.0 / 3 + 1) / 2 - 0.5;
        for (int pass = 0; pass < 3; pass++) {
            v = boxBlur(v, w, h, boxRadius, true);
            v = boxBlur(v, w, h, boxRadius, false);
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < v.length; i++) {
            int g = clamp8(v[i]);
            out.setRGB(i % w, i / w, g << 16 | g << 8 | g);
        }
        return out;
    }

    // A box of radius r (fractional: the two edge pixels weighted by the fraction), edges extended.
    private static float[] boxBlur(float[] in, int w, int h, double r, boolean horizontal) {
        int whole = (int) r;
        double edge = r - whole;
        double norm = 1.0 / (2 * r + 1);
        float[] out = new float[in.length];
        int n = horizontal ? w : h;
        int lines = horizontal ? h : w;
        for (int line = 0; line < lines; line++) {
            for (int i = 0; i < n; i++) {
                double acc = 0;
                for (int k = -whole; k <= whole; k++) {
                    acc += at(in, w, line, Math.min(Math.max(i + k, 0), n - 1), horizontal);
                }
                acc += edge * (at(in, w, line, Math.max(i - whole - 1, 0), horizontal)
                        + at(in, w, line, Math.min(i + whole + 1, n - 1), horizontal));
                int index = horizontal ? line * w + i : i * w + line;
                out[index] = (float) (acc * norm);
            }
        }
        return out;
    }

    private static float at(float[] v, int w, int line, int i, boolean horizontal) {
        return horizontal ? v[line * w + i] : v[i * w + line];
    }

    private static void check(HostTensor dst, int channels, int w, int h) {
        if (dst.rank() != 4 || dst.dim(0) != 1 || dst.dim(1) != channels || dst.dim(2) != h || dst.dim(3) != w) {
            throw new IllegalArgumentException("tensor " + dst + " for a " + w + "x" + h + " image of " + channels
                    + " channels");
        }
    }
}
