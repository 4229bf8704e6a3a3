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

    static void transform(float[] d) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[j];
            float u2 = d[j + 8];
            float radius = (float) Math.sqrt(-2f * log(u1));
            float theta = TWO_PI * u2;
            d[j] = radius * cos(theta);
            d[j + 8] = radius * sin(theta);
        }
    }

    /** avx_mathfun's log256_ps for x in (0, 1]. */
    static float log(float x) {
        x = Math.max(x, Float.MIN_NORMAL);
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 127) + 1f;
        // Keep the mantissa, set the exponent of [0.5, 1).
        x = Float.intBitsToFloat((bits & ~0x7f800000) | 0x3f000000);
        if (x < SQRTHF) {
            e = e - 1f;
            x = (x - 1f) + x;
        } else {
            x = x - 1f;
        }
        float z = x * x;
        float y = LOG_P[0];
        for (int k = 1; k < LOG_P.length; k++) {
            y = Math.fma(y, x, LOG_P[k]);
        }
        y = y * x;
        y = Math.fma(y, z, e * LOG_Q1);
        y = y - z * 0.5f;
        x = x + y;
        return Math.fma(e, LOG_Q2, x);
    }

    static float sin(float t) {
        return sincos(t, true);
    }

    static float cos(float t) {
        return sincos(t, false);
    }

    /** avx_mathfun's sincos256_ps: Cody–Waite reduction by π/4, then the sine or cosine polynomial. */
    private static float sincos(float t, boolean wantSin) {
        int tBits = Float.floatToRawIntBits(t);
        int signSin = tBits & 0x80000000;
        float x = Float.intBitsToFloat(tBits & 0x7fffffff);
        int j = (int) (x * FOUR_OVER_PI);
        j = (j + 1) & ~1;
        float y = j;
        int swapSin = (j & 4) << 29;
        boolean sinPolynomial = (j & 2) == 0;
        int signCos = (~(j - 2) & 4) << 29;
        signSin ^= swapSin;

        x = Math.fma(y, MINUS_DP1, x);
        x = Math.fma(y, MINUS_DP2, x);
        x = Math.fma(y, MINUS_DP3, x);
        float z = x * x;

        float result;
        if (sinPolynomial == wantSin) {
            // The sine polynomial: sin(x) ≈ x + x·z·P(z).
            float ys = Math.fma(SIN_P0, z, SIN_P1);
            ys = Math.fma(ys, z, SIN_P2);
            ys = ys * z;
            result = Math.fma(ys, x, x);
        } else {
            // The cosine polynomial: cos(x) ≈ 1 - z/2 + z²·Q(z).
            float yc = Math.fma(COS_P0, z, COS_P1);
            yc = Math.fma(yc, z, COS_P2);
            yc = yc * z;
            yc = Math.fma(yc, z, -(z * 0.5f));
            result = yc + 1f;
        }
        int sign = wantSin ? signSin : signCos;
        return Float.intBitsToFloat(Float.floatToRawIntBits(result) ^ sign);
    }

    private static float f(int bits) {
        return Float.intBitsToFloat(bits);
    }
}
