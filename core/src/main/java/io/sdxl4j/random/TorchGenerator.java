// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.random;

import java.nio.FloatBuffer;

/**
 * Draws what {@code torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))} draws,
 * so that a seed gives diffusers' image. ATen's CPU generator is a 32-bit Mersenne Twister
 * (mt19937); its normal kernel has two paths:
 *
 * <ul>
 *   <li>tensors of 16 elements or more: every element first gets a float uniform
 *       {@code (random() & 0xFFFFFF)·2⁻²⁴}, then each block of 16 is Box–Muller transformed in place
 *       in float32 ({@code normal_fill_16}); a tail that is not a multiple of 16 redoes the last 16
 *       elements with fresh uniforms;</li>
 *   <li>smaller tensors: one double-precision Box–Muller normal per element from 53-bit uniforms,
 *       the second value of each pair cached in the generator for the next element, even across
 *       calls.</li>
 * </ul>
 *
 * <p>The 16-block transform reproduces torch's AVX2 kernel ({@link BoxMuller16}). Not thread-safe.
 */
public final class TorchGenerator implements NoiseSource {

    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908B0DF;
    private static final int UPPER_MASK = 0x80000000;
    private static final int LOWER_MASK = 0x7FFFFFFF;
    private static final float FLOAT_UNIT = 0x1.0p-24f;
    private static final double DOUBLE_UNIT = 0x1.0p-53;

    private final int[] state = new int[N];
    private int index;
    private final long seed;
    private boolean hasCachedNormal;
    private double cachedNormal;
    private final float[] block = new float[16];
    private final BoxMuller16.Lanes lanes = new BoxMuller16.Lanes();

    /** A generator in the state of {@code torch.Generator("cpu").manual_seed(seed)}. */
    public TorchGenerator(long seed) {
        this.seed = seed;
        // mt19937's init_genrand; torch keeps the low 32 bits of the 64-bit seed.
        state[0] = (int) seed;
        for (int i = 1; i < N; i++) {
            int prev = state[i - 1];
            state[i] = 1812433253 * (prev ^ (prev >>> 30)) + i;
        }
        index = N;
    }

    /** The seed this generator was made with. */
    public long seed() {
        return seed;
    }

    /** The next tempered 32-bit output ({@code random()} in ATen), as an unsigned value. */
    public long nextUnsignedInt() {
        return Integer.toUnsignedLong(nextInt());
    }

    private int nextInt() {
        if (index >= N) {
            twist();
        }
        int y = state[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        // The standard recurrence, split where the indices wrap so that no modulo is needed.
        int[] mt = state;
        int i = 0;
        for (; i < N - M; i++) {
            int y = (mt[i] & UPPER_MASK) | (mt[i + 1] & LOWER_MASK);
            mt[i] = mt[i + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
        }
        for (; i < N - 1; i++) {
            int y = (mt[i] & UPPER_MASK) | (mt[i + 1] & LOWER_MASK);
            mt[i] = mt[i + M - N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
        }
        int y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
        mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
        index = 0;
    }

    /** ATen's {@code random64()}: two outputs, the first as the high half. */
    private long nextLong() {
        long hi = Integer.toUnsignedLong(nextInt());
        long lo = Integer.toUnsignedLong(nextInt());
        return (hi << 32) | lo;
    }

    private float nextFloatUniform() {
        return (nextInt() & 0xFFFFFF) * FLOAT_UNIT;
    }

    private double nextDoubleUniform() {
        return (nextLong() & ((1L << 53) - 1)) * DOUBLE_UNIT;
    }

    /** {@code torch.rand(count)}: float uniforms in [0, 1). */
    public void rand(FloatBuffer dst, int count) {
        for (int i = 0; i < count; i++) {
            dst.put(i, nextFloatUniform());
        }
    }

    @Override
    public void randn(FloatBuffer dst, int count) {
        if (count >= 16) {
            randnBlocks(dst, count);
        } else {
            for (int i = 0; i < count; i++) {
                dst.put(i, (float) nextDoubleNormal());
            }
        }
    }

    @Override
    public void skipRandn(int count) {
        if (count >= 16) {
            // The block path consumes exactly one output per element, plus 16 for a ragged tail;
            // skipping them needs only the state's advance, not the tempering of each output.
            long outputs = count + (count % 16 == 0 ? 0 : 16);
            while (outputs > 0) {
                if (index >= N) {
                    twist();
                }
                int take = (int) Math.min(outputs, N - index);
                index += take;
                outputs -= take;
            }
        } else {
            for (int i = 0; i < count; i++) {
                nextDoubleNormal();
            }
        }
    }

    /** Convenience: a fresh array of {@code count} normals. */
    public float[] randn(int count) {
        float[] out = new float[count];
        randn(FloatBuffer.wrap(out), count);
        return out;
    }

    // torch first fills every element with a uniform and then transforms each block of 16; drawing
    // each block's 16 uniforms just before transforming it consumes the same outputs in the same order.
    private void randnBlocks(FloatBuffer dst, int count) {
        int full = count - count % 16;
        for (int i = 0; i < full; i += 16) {
            for (int k = 0; k < 16; k++) {
                block[k] = nextFloatUniform();
            }
            BoxMuller16.transform(block, lanes);
            dst.put(i, block);
        }
        if (full != count) {
            // The ragged end's uniforms are drawn, then overwritten: the last 16 elements (overlapping
            // the last full block) are redone from 16 fresh uniforms.
            for (int k = full; k < count; k++) {
                nextInt();
            }
            for (int k = 0; k < 16; k++) {
                block[k] = nextFloatUniform();
            }
            BoxMuller16.transform(block, lanes);
            dst.put(count - 16, block);
        }
    }

    // ATen's normal_distribution<double>: Box–Muller with the sine half cached in the generator.
    private double nextDoubleNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = nextDoubleUniform();
        double u2 = nextDoubleUniform();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = r * Math.sin(theta);
        hasCachedNormal = true;
        return r * Math.cos(theta);
    }
}
