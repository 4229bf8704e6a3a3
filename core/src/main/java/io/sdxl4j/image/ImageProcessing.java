// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import io.sdxl4j.tensor.HostTensor;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;

/**
 * What diffusers' {@code VaeImageProcessor} does to input images and masks, with PIL's own
 * arithmetic so that the pixels match: Lanczos resizing as Pillow's {@code Resample.c} computes it
 * on 8-bit images (fixed-point coefficients, horizontal then vertical pass, each rounded to 8
 * bits), Gaussian blur as Pillow's {@code BoxBlur.c} (three extended box blurs per axis, each pass
 * rounded to 8 bits), grey levels as {@code convert("L")} (ITU-R 601 weights in fixed point), RGB
 * to [−1, 1], masks binarised at 0.5.
 *
 * <p>Images are planes of 8-bit values ({@code int[]}, row-major), one per channel.
 */
public final class ImageProcessing {

    /** Pillow's {@code PRECISION_BITS} for 8-bit resampling: 32 − 8 − 2. */
    private static final int PRECISION_BITS = 22;

    private ImageProcessing() {
    }

    /** The R, G and B planes of an image. */
    public static int[][] planes(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[][] planes = new int[3][w * h];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int rgb = row[x];
                planes[0][y * w + x] = (rgb >> 16) & 0xFF;
                planes[1][y * w + x] = (rgb >> 8) & 0xFF;
                planes[2][y * w + x] = rgb & 0xFF;
            }
        }
        return planes;
    }

    /** An RGB image of three planes. */
    public static BufferedImage image(int[][] planes, int w, int h) {
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                row[x] = planes[0][i] << 16 | planes[1][i] << 8 | planes[2][i];
            }
            out.setRGB(0, y, w, 1, row, 0, w);
        }
        return out;
    }

    /** {@code Image.resize((width, height), LANCZOS)} of an RGB image (itself when the size is unchanged). */
    public static BufferedImage resize(BufferedImage src, int width, int height) {
        if (src.getWidth() == width && src.getHeight() == height) {
            return src;
        }
        int[][] planes = planes(src);
        for (int c = 0; c < 3; c++) {
            planes[c] = resize(planes[c], src.getWidth(), src.getHeight(), width, height);
        }
        return image(planes, width, height);
    }

    /**
     * {@code Image.resize((outW, outH), LANCZOS)} of one 8-bit plane, as Pillow's
     * {@code ImagingResampleInner}: a horizontal pass (when the width changes) into an 8-bit image,
     * then a vertical pass (when the height changes).
     */
    public static int[] resize(int[] plane, int w, int h, int outW, int outH) {
        int[] p = plane;
        int curW = w;
        if (outW != w) {
            p = resamplePass(p, w, h, outW, true);
            curW = outW;
        }
        if (outH != h) {
            p = resamplePass(p, curW, h, outH, false);
        }
        return p == plane ? plane.clone() : p;
    }

    // One pass of Pillow's ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc with the
    // coefficients of precompute_coeffs and normalize_coeffs_8bpc.
    private static int[] resamplePass(int[] in, int w, int h, int outLength, boolean horizontal) {
        int inLength = horizontal ? w : h;
        double scale = (double) inLength / outLength;
        double filterScale = Math.max(scale, 1.0);
        double support = 3.0 * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] bounds = new int[outLength * 2];
        int[] kk = new int[outLength * ksize];
        double[] k = new double[ksize];
        for (int o = 0; o < outLength; o++) {
            double center = (o + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inLength) - xmin;
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                double wgt = lanczos((x + xmin - center + 0.5) * ss);
                k[x] = wgt;
                ww += wgt;
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                kk[o * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                        : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            bounds[o * 2] = xmin;
            bounds[o * 2 + 1] = xmax;
        }
        int outW = horizontal ? outLength : w;
        int outH = horizontal ? h : outLength;
        int[] out = new int[outW * outH];
        int lines = horizontal ? h : w;
        for (int o = 0; o < outLength; o++) {
            int xmin = bounds[o * 2];
            int xmax = bounds[o * 2 + 1];
            int base = o * ksize;
            for (int line = 0; line < lines; line++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < xmax; x++) {
                    int index = horizontal ? line * w + x + xmin : (x + xmin) * w + line;
                    ss += in[index] * kk[base + x];
                }
                int target = horizontal ? line * outW + o : o * outW + line;
                out[target] = clip8(ss);
            }
        }
        return out;
    }

    // Pillow's lanczos_filter: sinc(x)·sinc(x/3) on [−3, 3).
    private static double lanczos(double x) {
        if (-3.0 <= x && x < 3.0) {
            return sinc(x) * sinc(x / 3);
        }
        return 0.0;
    }

    private static double sinc(double x) {
        if (x == 0.0) {
            return 1.0;
        }
        double px = x * Math.PI;
        return Math.sin(px) / px;
    }

    // Pillow's clip8: the fixed-point sum shifted down and clamped to a byte.
    private static int clip8(int fixed) {
        int v = fixed >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /**
     * {@code image.filter(ImageFilter.GaussianBlur(radius))} of one 8-bit plane, as Pillow's
     * {@code ImagingGaussianBlur}: three extended box blurs along each axis (Gwosdek et al. 2011),
     * horizontal passes first, each pass rounded to 8 bits. Radius 0 returns the plane unchanged.
     */
    public static int[] gaussianBlur(int[] plane, int w, int h, float radius) {
        if (radius == 0) {
            return plane.clone();
        }
        float box = boxRadius(radius, 3);
        int[] v = plane.clone();
        int[] line = new int[Math.max(w, h)];
        int[] out = new int[Math.max(w, h)];
        for (int pass = 0; pass < 3; pass++) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(v, y * w, line, 0, w);
                boxBlurLine(line, out, w, box);
                System.arraycopy(out, 0, v, y * w, w);
            }
        }
        for (int pass = 0; pass < 3; pass++) {
            for (int x = 0; x < w; x++) {
                for (int y = 0; y < h; y++) {
                    line[y] = v[y * w + x];
                }
                boxBlurLine(line, out, h, box);
                for (int y = 0; y < h; y++) {
                    v[y * w + x] = out[y];
                }
            }
        }
        return v;
    }

    // Pillow's _gaussian_blur_radius, in its float arithmetic: the extended box radius whose
    // passes give variance radius²/passes each.
    private static float boxRadius(float radius, int passes) {
        float sigma2 = radius * radius / passes;
        float bigL = (float) Math.sqrt(12.0 * sigma2 + 1.0);
        float l = (float) Math.floor((bigL - 1.0) / 2.0);
        float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
        a /= 6 * (sigma2 - (l + 1) * (l + 1));
        return l + a;
    }

    // Pillow's ImagingHorizontalBoxBlur + ImagingLineBoxBlur8 on one line: a box of fractional
    // radius in 24-bit fixed point (the two edge pixels weighted by fw), edges extended.
    private static void boxBlurLine(int[] in, int[] out, int size, float floatRadius) {
        int radius = (int) floatRadius;
        long ww = (long) (16777216f / (floatRadius * 2 + 1));
        long fw = ((1L << 24) - (radius * 2L + 1) * ww) / 2;
        int edgeA = Math.min(radius + 1, size);
        int edgeB = Math.max(size - radius - 1, 0);
        int lastx = size - 1;
        long acc = (long) in[0] * (radius + 1);
        for (int x = 0; x < edgeA - 1; x++) {
            acc += in[x];
        }
        acc += (long) in[lastx] * (radius - edgeA + 1);
        if (edgeA <= edgeB) {
            for (int x = 0; x < edgeA; x++) {
                acc += in[x + radius] - in[0];
                out[x] = bulk(acc, ww, fw, in[0], in[x + radius + 1]);
            }
            for (int x = edgeA; x < edgeB; x++) {
                acc += in[x + radius] - in[x - radius - 1];
                out[x] = bulk(acc, ww, fw, in[x - radius - 1], in[x + radius + 1]);
            }
            for (int x = edgeB; x <= lastx; x++) {
                acc += in[lastx] - in[x - radius - 1];
                out[x] = bulk(acc, ww, fw, in[x - radius - 1], in[lastx]);
            }
        } else {
            for (int x = 0; x < edgeB; x++) {
                acc += in[x + radius] - in[0];
                out[x] = bulk(acc, ww, fw, in[0], in[x + radius + 1]);
            }
            for (int x = edgeB; x < edgeA; x++) {
                acc += in[lastx] - in[0];
                out[x] = bulk(acc, ww, fw, in[0], in[lastx]);
            }
            for (int x = edgeA; x <= lastx; x++) {
                acc += in[lastx] - in[x - radius - 1];
                out[x] = bulk(acc, ww, fw, in[x - radius - 1], in[lastx]);
            }
        }
    }

    private static int bulk(long acc, long ww, long fw, int left, int right) {
        long bulk = acc * ww + (long) (left + right) * fw;
        return (int) ((bulk + (1L << 23)) >> 24);
    }

    /**
     * An inpainting mask as diffusers prepares it: PIL's Gaussian blur of the RGB mask when
     * {@code blur > 0} ({@code mask_processor.blur}, applied before the pipeline call), then the mask
     * processor's Lanczos resize to the output size, grey levels ({@code convert("L")}), and
     * binarisation ({@code ≥ 0.5} repaints) into {@code dst} [1, 1, H, W].
     */
    public static void maskToTensor(BufferedImage mask, int blur, HostTensor dst) {
        int sw = mask.getWidth();
        int sh = mask.getHeight();
        int w = (int) dst.dim(3);
        int h = (int) dst.dim(2);
        check(dst, 1, w, h);
        int[][] planes = planes(mask);
        for (int c = 0; c < 3; c++) {
            if (blur > 0) {
                planes[c] = gaussianBlur(planes[c], sw, sh, blur);
            }
            planes[c] = resize(planes[c], sw, sh, w, h);
        }
        FloatBuffer f = dst.floatBuffer();
        for (int i = 0; i < w * h; i++) {
            int grey = (planes[0][i] * 19595 + planes[1][i] * 38470 + planes[2][i] * 7471 + 0x8000) >> 16;
            f.put(i, grey / 255f < 0.5f ? 0f : 1f);
        }
    }

    /** RGB pixels into {@code dst} [1, 3, H, W] as {@code 2·(v/255) − 1}. */
    public static void toTensor(BufferedImage image, HostTensor dst) {
        int w = image.getWidth();
        int h = image.getHeight();
        check(dst, 3, w, h);
        int[][] planes = planes(image);
        FloatBuffer f = dst.floatBuffer();
        int plane = w * h;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                f.put(c * plane + i, 2f * (planes[c][i] / 255f) - 1f);
            }
        }
    }

    private static void check(HostTensor dst, int channels, int w, int h) {
        if (dst.rank() != 4 || dst.dim(0) != 1 || dst.dim(1) != channels || dst.dim(2) != h || dst.dim(3) != w) {
            throw new IllegalArgumentException("tensor " + dst + " for a " + w + "x" + h + " image of " + channels
                    + " channels");
        }
    }
}
