// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.random;

/**
 * The in-place Box–Muller transform of 16 float uniforms into 16 normals, bit for bit as torch's
 * CPU normal kernel computes it on AVX2 machines (torch's usual dispatch): {@code normal_fill_16_AVX2}
 * in ATen's {@code DistributionTemplates.h}, with {@code log256_ps} and {@code sincos256_ps} from
 * {@code avx_mathfun.h} (Cephes' {@code logf}/{@code sinf}/{@code cosf} polynomials in float32).
 *
 * <p>For j in 0..7: {@code u1 = 1 - d[j]}, {@code u2 = d[j+8]}, {@code r = sqrt(-2·log u1)},
 * {@code θ = float(2π)·u2}, {@code d[j] = r·cos θ}, {@code d[j+8] = r·sin θ}. Every operation below
 * is one float32 rounding in the kernel's order; the {@link Math#fma} calls are the multiply-adds
 * that torch's compiler contracted into FMA instructions ({@code -ffp-contract=fast}). That choice
 * was established against {@code torch.randn} outputs: with these contractions all values of the
 * reference draws match exactly; with none, about 1% differ by one or two ULPs.
 */
final class BoxMuller16 {

    // avx_mathfun.h constants, as the float32 bit patterns the kernel holds.
    private static final float SQRTHF = f(0x3f3504f3);
    private static final float[] LOG_P = {
        f(0x3d9021bb), f(0xbdebd1b8), f(0x3def251a), f(0xbdfe5d4f), f(0x3e11e9bf),
        f(0xbe2aae50), f(0x3e4cceac), f(0xbe7ffffc), f(0x3eaaaaaa)};
    private static final float LOG_Q1 = f(0xb95e8083);
    private static final float LOG_Q2 = f(0x3f318000);
    private static final float MINUS_DP1 = f(0xbf490000);
    private static final float MINUS_DP2 = f(0xb97da000);
    private static final float MINUS_DP3 = f(0xb3222169);
    private static final float SIN_P0 = f(0xb94ca1f9);
    private static final float SIN_P1 = f(0x3c08839e);
    private static final float SIN_P2 = f(0xbe2aaaa3);
    private static final float COS_P0 = f(0x37ccf5ce);
    private static final float COS_P1 = f(0xbab6061a);
    private static final float COS_P2 = f(0x3d2aaaa5);
    private static final float FOUR_OVER_PI = f(0x3fa2f983);
    private static final float TWO_PI = (float) (2.0 * Math.PI);

    private BoxMuller16() {
    }

    /** Per-generator scratch for the 8 lanes of one block (structure of arrays). */
    static final class Lanes {
        final float[] x = new float[8];
        final float[] e = new float[8];
        final float[] y = new float[8];
        final float[] z = new float[8];
        final float[] radius = new float[8];
        final int[] signSin = new int[8];
        final int[] signCos = new int[8];
        final int[] sinPolynomial = new int[8];
    }

    /**
     * Transforms one block. Each step runs across the 8 independent lanes before the next, as the
     * AVX2 kernel does: the polynomial chains are latency-bound one lane at a time, and interleaved
     * they overlap (and can be vectorised by the JIT). The result does not depend on the order.
     */
    static void transform(float[] d, Lanes l) {
        float[] x = l.x;
        float[] e = l.e;
        float[] y = l.y;
        float[] z = l.z;
        // log(u1), u1 = 1 − d[j] in (0, 1]: mantissa in [0.5, 1) and exponent.
        // Branch-free like the kernel (random inputs would mispredict every branch): masks from the
        // bit patterns, which order positive floats as their values.
        int sqrtHalfBits = Float.floatToRawIntBits(SQRTHF);
        int oneBits = Float.floatToRawIntBits(1f);
        for (int j = 0; j < 8; j++) {
            float u1 = Math.max(1f - d[j], Float.MIN_NORMAL);
            int bits = Float.floatToRawIntBits(u1);
            float ej = (float) ((bits >>> 23) - 127) + 1f;
            float xj = Float.intBitsToFloat((bits & ~0x7f800000) | 0x3f000000);
            int below = (Float.floatToRawIntBits(xj) - sqrtHalfBits) >> 31; // all ones when x < sqrt(1/2)
            float tmp = Float.intBitsToFloat(Float.floatToRawIntBits(xj) & below);
            xj = xj - 1f;
            ej = ej - Float.intBitsToFloat(oneBits & below);
            xj = xj + tmp;
            x[j] = xj;
            e[j] = ej;
            z[j] = xj * xj;
            y[j] = LOG_P[0];
        }
        for (int k = 1; k < LOG_P.length; k++) {
            float p = LOG_P[k];
            for (int j = 0; j < 8; j++) {
                y[j] = Math.fma(y[j], x[j], p);
            }
        }
        for (int j = 0; j < 8; j++) {
            float yj = y[j] * x[j];
            yj = Math.fma(yj, z[j], e[j] * LOG_Q1);
            yj = yj - z[j] * 0.5f;
            float log = Math.fma(e[j], LOG_Q2, x[j] + yj);
            l.radius[j] = (float) Math.sqrt(-2f * log);
        }
        // sincos(θ), θ = float(2π)·u2: Cody–Waite reduction by π/4, both polynomials, chosen by octant.
        for (int j = 0; j < 8; j++) {
            float t = TWO_PI * d[j + 8];
            int tBits = Float.floatToRawIntBits(t);
            float xj = Float.intBitsToFloat(tBits & 0x7fffffff);
            int q = (int) (xj * FOUR_OVER_PI);
            q = (q + 1) & ~1;
            float yq = q;
            l.signSin[j] = (tBits & 0x80000000) ^ ((q & 4) << 29);
            l.signCos[j] = (~(q - 2) & 4) << 29;
            l.sinPolynomial[j] = ((q & 2) - 1) >> 31; // all ones where the sine polynomial applies
            xj = Math.fma(yq, MINUS_DP1, xj);
            xj = Math.fma(yq, MINUS_DP2, xj);
            xj = Math.fma(yq, MINUS_DP3, xj);
            x[j] = xj;
            z[j] = xj * xj;
        }
        for (int j = 0; j < 8; j++) {
            float zj = z[j];
            // cos(x) ≈ 1 − z/2 + z²·Q(z)
            float yc = Math.fma(COS_P0, zj, COS_P1);
            yc = Math.fma(yc, zj, COS_P2);
            yc = yc * zj;
            yc = Math.fma(yc, zj, -(zj * 0.5f));
            yc = yc + 1f;
            // sin(x) ≈ x + x·z·P(z)
            float ys = Math.fma(SIN_P0, zj, SIN_P1);
            ys = Math.fma(ys, zj, SIN_P2);
            ys = ys * zj;
            ys = Math.fma(ys, x[j], x[j]);
            int sinPoly = l.sinPolynomial[j];
            int ysBits = Float.floatToRawIntBits(ys);
            int ycBits = Float.floatToRawIntBits(yc);
            float sin = Float.intBitsToFloat(((ysBits & sinPoly) | (ycBits & ~sinPoly)) ^ l.signSin[j]);
            float cos = Float.intBitsToFloat(((ycBits & sinPoly) | (ysBits & ~sinPoly)) ^ l.signCos[j]);
            d[j] = l.radius[j] * cos;
            d[j + 8] = l.radius[j] * sin;
        }
    }

    private static float f(int bits) {
        return Float.intBitsToFloat(bits);
    }
}
