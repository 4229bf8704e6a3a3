// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import java.nio.FloatBuffer;

/**
 * SDXL's invisible watermark exactly as diffusers applies it to the VAE output
 * ({@code StableDiffusionXLWatermarker.apply_watermark}, diffusers 0.27.2), which calls
 * imwatermark 0.2.0's {@code WatermarkEncoder.encode(image, "dwtDct")} with the 48-bit message
 * {@code 0xB3EC907BB19E}.
 *
 * <p>What that amounts to, step by step (each is reproduced in float32 with the operation order of
 * torch, OpenCV 4.6's float colour conversion and PyWavelets' float32 Haar transform, so the result
 * agrees with diffusers' to the last bit on an FMA-capable x86 build of OpenCV):
 *
 * <ol>
 *   <li>{@code x = 255 · (img / 2 + 0.5)} per channel, not clamped (diffusers).
 *   <li>diffusers hands the RGB array to imwatermark, which takes it for BGR: OpenCV's float
 *       {@code COLOR_BGR2YUV} therefore computes, with {@code ch0} = red, {@code Y = 0.114·ch0 +
 *       0.587·ch1 + 0.299·ch2}, {@code U = 0.492·(ch0 − Y) + 0.5}, {@code V = 0.877·(ch2 − Y) +
 *       0.5}.
 *   <li>Only U is marked (scales {@code [0, 36, 36]}, but imwatermark loops over channels 0 and 1
 *       only, and Y's scale 0 skips it).
 *   <li>U, cropped to multiples of 4 in both directions, goes through a one-level Haar
 *       {@code pywt.dwt2}; the approximation band is split into 4×4 blocks, row-major, and block
 *       {@code k} carries bit {@code k mod 48}: its largest coefficient in magnitude other than the
 *       first ({@code argmax(|flat[1:]|) + 1}, first maximum) becomes {@code ±(⌊|v| / 36⌋ + 0.25 +
 *       0.5·bit) · 36}, keeping its sign.
 *   <li>{@code pywt.idwt2} gets the horizontal and vertical detail bands swapped (imwatermark passes
 *       {@code (v1, h1, d1)}), which transposes every 2×2 block of the cropped U.
 *   <li>OpenCV's float {@code COLOR_YUV2BGR} ({@code ch0 = Y + 2.032·(U − 0.5)}, {@code ch1 = Y −
 *       0.395·(U − 0.5) − 0.581·(V − 0.5)}, {@code ch2 = Y + 1.140·(V − 0.5)}; not an exact inverse,
 *       so every pixel moves slightly), then {@code clamp(2 · (x / 255 − 0.5), −1, 1)} (diffusers).
 * </ol>
 *
 * <p>diffusers skips images narrower than 256 pixels ({@code images.shape[-1] < 256}, the width of
 * the NCHW tensor); imwatermark itself then refuses images under 256 · 256 pixels in area, which
 * {@link #apply} reports as an {@link IllegalArgumentException} (diffusers raises there too).
 *
 * <p>Stateless and thread-safe; it allocates only a few small scratch arrays per call.
 */
public final class SdxlWatermark {

    /** The 48-bit message SDXL embeds (Stability AI's, as diffusers' {@code WATERMARK_MESSAGE}). */
    public static final long MESSAGE = 0xB3EC907BB19EL;

    /** Number of message bits. */
    public static final int BITS = 48;

    /** imwatermark's quantization step for the U channel ({@code scales[1]}). */
    private static final double SCALE = 36.0;

    /** diffusers' width threshold: narrower images are returned unchanged. */
    private static final int MIN_WIDTH = 256;

    /** imwatermark's {@code r * c < 256 * 256} refusal. */
    private static final int MIN_AREA = 256 * 256;

    /** PyWavelets' Haar filter taps as float32 ({@code float(0.7071067811865476)}). */
    private static final float H = 0.70710677f;

    // OpenCV's colour constants (imgproc color.hpp / color_yuv): BT.601 luma, YUV scales.
    private static final float R2YF = 0.299f;
    private static final float G2YF = 0.587f;
    private static final float B2YF = 0.114f;
    private static final float R2VF = 0.877f;
    private static final float B2UF = 0.492f;
    private static final float U2BF = 2.032f;
    private static final float U2GF = -0.395f;
    private static final float V2GF = -0.581f;
    private static final float V2RF = 1.140f;

    private SdxlWatermark() {
    }

    /**
     * Whether diffusers marks an image of this size (it returns images narrower than 256 unchanged).
     */
    public static boolean marks(int height, int width) {
        return width >= MIN_WIDTH;
    }

    /**
     * Watermarks one decoded image in place, as diffusers does to the VAE output before
     * post-processing.
     *
     * @param image  the image as the VAE decoder outputs it: float CHW {@code [3, height, width]} in
     *               C order, values nominally in [−1, 1], starting at the buffer's position (which is
     *               left unchanged)
     * @param height the image height
     * @param width  the image width
     * @return true when the image was marked (and clamped to [−1, 1]); false when it is narrower than
     *         256 and was left untouched, as diffusers does
     * @throws IllegalArgumentException when the image is at least 256 wide but under 256 · 256 pixels
     *         in area, which imwatermark refuses (so diffusers fails there), or when the buffer is too
     *         small
     */
    public static boolean apply(FloatBuffer image, int height, int width) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image size " + height + "x" + width);
        }
        int base = image.position();
        long plane = (long) height * width;
        if (image.remaining() < 3 * plane) {
            throw new IllegalArgumentException("buffer holds " + image.remaining() + " floats, a [3, " + height
                    + ", " + width + "] image needs " + 3 * plane);
        }
        // diffusers: `if images.shape[-1] < 256: return images`.
        if (!marks(height, width)) {
            return false;
        }
        // imwatermark's WatermarkEncoder.encode: `if r*c < 256*256: raise RuntimeError(...)`.
        if (plane < MIN_AREA) {
            throw new IllegalArgumentException("imwatermark refuses images under 256x256 pixels in area: "
                    + height + "x" + width);
        }
        int n = (int) plane;
        int c0 = base;
        int c1 = base + n;
        int c2 = base + 2 * n;

        // Steps 1-2: x = 255 * (img / 2 + 0.5) in float32 (torch), then OpenCV's vectorized float
        // BGR2YUV on the RGB data: y = fma(b, C0, fma(g, C1, r * C2)), cb = fma(b - y, B2UF, 0.5),
        // cr = fma(r - y, R2VF, 0.5), where OpenCV's "b" is channel 0. Y, U, V replace channels 0-2.
        for (int i = 0; i < n; i++) {
            float x0 = 255f * (image.get(c0 + i) / 2f + 0.5f);
            float x1 = 255f * (image.get(c1 + i) / 2f + 0.5f);
            float x2 = 255f * (image.get(c2 + i) / 2f + 0.5f);
            float y = Math.fma(x0, B2YF, Math.fma(x1, G2YF, x2 * R2YF));
            image.put(c0 + i, y);
            image.put(c1 + i, Math.fma(x0 - y, B2UF, 0.5f));
            image.put(c2 + i, Math.fma(x2 - y, R2VF, 0.5f));
        }

        // Steps 3-5 on U (channel 1) only.
        markU(image, c1, height, width);

        // Step 6: OpenCV's vectorized float YUV2BGR (b = fma(cb, U2BF, y), g = fma(cr, V2GF,
        // fma(cb, U2GF, y)), r = fma(cr, V2RF, y) with cb, cr less 0.5; "b" back into channel 0),
        // then diffusers' clamp(2 * (x / 255 - 0.5), -1, 1) in float32.
        for (int i = 0; i < n; i++) {
            float y = image.get(c0 + i);
            float u = image.get(c1 + i) - 0.5f;
            float v = image.get(c2 + i) - 0.5f;
            image.put(c0 + i, toVae(Math.fma(u, U2BF, y)));
            image.put(c1 + i, toVae(Math.fma(v, V2GF, Math.fma(u, U2GF, y))));
            image.put(c2 + i, toVae(Math.fma(v, V2RF, y)));
        }
        return true;
    }

    /**
     * Reads the message back with imwatermark's {@code dwtDct} decoder (the same transforms; a block
     * votes 1 when {@code (|v| mod 36) > 18}; a bit is 1 when its mean vote · 255 > 127). The decoder
     * is lossy by design: lowering a coefficient for a 0 bit can make another one the block's
     * largest, so not every bit comes back, least of all on noisy images.
     *
     * @param image a float CHW {@code [3, height, width]} image in [−1, 1] from the buffer's position
     *              (not modified)
     * @return the decoded 48 bits, most significant first, as {@link #MESSAGE} holds them
     */
    public static long decode(FloatBuffer image, int height, int width) {
        int base = image.position();
        int n = height * width;
        if (height <= 0 || width <= 0 || image.remaining() < 3L * n) {
            throw new IllegalArgumentException("a [3, " + height + ", " + width + "] image does not fit the buffer");
        }
        int[] ones = new int[BITS];
        int[] votes = new int[BITS];
        float[] ca = new float[16];
        int tilesDown = (height / 4 * 2) / 4;
        int tilesAcross = (width / 4 * 2) / 4;
        int k = 0;
        for (int ti = 0; ti < tilesDown; ti++) {
            for (int tj = 0; tj < tilesAcross; tj++, k++) {
                for (int bi = 0; bi < 4; bi++) {
                    for (int bj = 0; bj < 4; bj++) {
                        int p = (8 * ti + 2 * bi) * width + 8 * tj + 2 * bj;
                        float a = u(image, base, n, p);
                        float b = u(image, base, n, p + 1);
                        float c = u(image, base, n, p + width);
                        float d = u(image, base, n, p + width + 1);
                        float loL = H * c + H * a;
                        float loR = H * d + H * b;
                        ca[bi * 4 + bj] = H * loR + H * loL;
                    }
                }
                float v = Math.abs(ca[largest(ca)]);
                votes[k % BITS]++;
                if (v % (float) SCALE > (float) (SCALE / 2)) {
                    ones[k % BITS]++;
                }
            }
        }
        long bits = 0;
        for (int i = 0; i < BITS; i++) {
            // numpy: mean(votes) * 255 > 127 (an empty list's mean is NaN, which compares false).
            boolean one = votes[i] > 0 && (double) ones[i] / votes[i] * 255.0 > 127.0;
            bits = (bits << 1) | (one ? 1 : 0);
        }
        return bits;
    }

    /** Bit {@code k} of the message, most significant first (diffusers' {@code bin(x)[2:]}). */
    static int bit(int k) {
        return (int) (MESSAGE >>> (BITS - 1 - (k % BITS))) & 1;
    }

    /** diffusers' {@code torch.clamp(2 * (images / 255 - 0.5), min=-1.0, max=1.0)}. */
    private static float toVae(float x) {
        float v = 2f * (x / 255f - 0.5f);
        return Math.max(-1f, Math.min(1f, v));
    }

    /** U of one pixel as the decoder computes it (steps 1-2). */
    private static float u(FloatBuffer image, int base, int n, int p) {
        float x0 = 255f * (image.get(base + p) / 2f + 0.5f);
        float x1 = 255f * (image.get(base + n + p) / 2f + 0.5f);
        float x2 = 255f * (image.get(base + 2 * n + p) / 2f + 0.5f);
        float y = Math.fma(x0, B2YF, Math.fma(x1, G2YF, x2 * R2YF));
        return Math.fma(x0 - y, B2UF, 0.5f);
    }

    /**
     * Steps 3-5 on the U plane at {@code off}. pywt's Haar transform of a 2×2 block {@code [[a, b],
     * [c, d]]} runs along rows first (axis -2) and then columns, each output being
     * {@code h·x_odd + h·x_even} (low pass) or {@code h·x_even − h·x_odd} (high pass) in float32; the
     * approximation band's 4×4 blocks are 8×8 pixel tiles, so each tile is transformed, marked and
     * transformed back on its own. 2×2 blocks in the crop outside whole tiles are still transformed
     * and transposed back (imwatermark transforms the whole crop) but carry no bit.
     */
    private static void markU(FloatBuffer image, int off, int height, int width) {
        int rows = height / 4 * 4;
        int cols = width / 4 * 4;
        int tilesDown = (rows / 2) / 4;
        int tilesAcross = (cols / 2) / 4;
        float[] aa = new float[16];
        float[] ad = new float[16];
        float[] da = new float[16];
        float[] dd = new float[16];
        int k = 0;
        for (int ti = 0; ti < tilesDown; ti++) {
            for (int tj = 0; tj < tilesAcross; tj++, k++) {
                for (int bi = 0; bi < 4; bi++) {
                    for (int bj = 0; bj < 4; bj++) {
                        int p = off + (8 * ti + 2 * bi) * width + 8 * tj + 2 * bj;
                        forward(image, p, width, aa, ad, da, dd, bi * 4 + bj);
                    }
                }
                quantize(aa, bit(k));
                for (int bi = 0; bi < 4; bi++) {
                    for (int bj = 0; bj < 4; bj++) {
                        int p = off + (8 * ti + 2 * bi) * width + 8 * tj + 2 * bj;
                        int q = bi * 4 + bj;
                        inverseSwapped(image, p, width, aa[q], ad[q], da[q], dd[q]);
                    }
                }
            }
        }
        // The rest of the crop: rows below the last whole tile row, and columns right of the last
        // whole tile column above them.
        for (int y = 0; y < rows; y += 2) {
            int xStart = y < 8 * tilesDown ? 8 * tilesAcross : 0;
            for (int x = xStart; x < cols; x += 2) {
                int p = off + y * width + x;
                forward(image, p, width, aa, ad, da, dd, 0);
                inverseSwapped(image, p, width, aa[0], ad[0], da[0], dd[0]);
            }
        }
    }

    /**
     * pywt.dwt2(..., 'haar') of the 2×2 block at {@code p}: axis -2 then axis -1; keys as pywt's
     * dwtn names them ({@code da} is pywt's cH, {@code ad} its cV).
     */
    private static void forward(FloatBuffer image, int p, int width, float[] aa, float[] ad, float[] da,
            float[] dd, int q) {
        float a = image.get(p);
        float b = image.get(p + 1);
        float c = image.get(p + width);
        float d = image.get(p + width + 1);
        // Axis -2 (down a column): low = h·odd + h·even, high = h·even − h·odd.
        float loL = H * c + H * a;
        float hiL = H * a - H * c;
        float loR = H * d + H * b;
        float hiR = H * b - H * d;
        // Axis -1 (along the row).
        aa[q] = H * loR + H * loL;
        ad[q] = H * loL - H * loR;
        da[q] = H * hiR + H * hiL;
        dd[q] = H * hiL - H * hiR;
    }

    /**
     * pywt.idwt2((cA, (v1, h1, d1)), 'haar') as imwatermark calls it: pywt's {@code 'ad'} slot gets
     * the forward {@code da} band and vice versa. idwtn undoes axis -1 first, then axis -2, each
     * output being {@code h·L + h·H} (even) and {@code h·L − h·H} (odd) in float32.
     */
    private static void inverseSwapped(FloatBuffer image, int p, int width, float aa, float ad, float da,
            float dd) {
        // Axis -1: L = aa with H = the 'ad' slot (forward da); L = the 'da' slot (forward ad) with H = dd.
        float a0 = H * aa + H * da;
        float a1 = H * aa - H * da;
        float d0 = H * ad + H * dd;
        float d1 = H * ad - H * dd;
        // Axis -2.
        image.put(p, H * a0 + H * d0);
        image.put(p + 1, H * a1 + H * d1);
        image.put(p + width, H * a0 - H * d0);
        image.put(p + width + 1, H * a1 - H * d1);
    }

    /**
     * imwatermark's {@code diffuse_dct_matrix} on one 4×4 approximation block: the largest
     * {@code |v|} after the first (numpy argmax, first maximum) becomes {@code (|v| // 36 + 0.25 +
     * 0.5·bit) · 36} with v's sign ({@code v >= 0} takes the positive branch, as there). The new value
     * {@code 36·m + 9} or {@code 36·m + 27} is exact in float32 and in numpy's float64 alike.
     */
    private static void quantize(float[] block, int bit) {
        int p = largest(block);
        float v = block[p];
        double m = Math.floor(Math.abs((double) v) / SCALE);
        float marked = (float) ((m + 0.25 + 0.5 * bit) * SCALE);
        block[p] = v >= 0f ? marked : -marked;
    }

    /** {@code np.argmax(abs(block.flatten()[1:])) + 1}: the first largest magnitude after index 0. */
    private static int largest(float[] block) {
        int p = 1;
        float best = Math.abs(block[1]);
        for (int i = 2; i < 16; i++) {
            float m = Math.abs(block[i]);
            if (m > best) {
                best = m;
                p = i;
            }
        }
        return p;
    }
}
