// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import java.util.Arrays;

/**
 * The weight change ΔW one adapter module makes, in torch layout {@code [out, in(, kh, kw)]}, in
 * float32, with the module's own scale (alpha / rank) applied and without the user's multiplier.
 * The factors are read from the adapter file only when {@link #compute()} is called.
 *
 * <p>The formulas are LyCORIS' ({@code lycoris/functional/locon.py}, {@code loha.py},
 * {@code lokr.py}), which stable-diffusion.cpp's {@code lora.hpp} and PEFT's fuse agree with:
 * <ul>
 * <li>LoRA / LoCon: {@code up.reshape(out, r) @ down.reshape(r, in·kh·kw)};</li>
 * <li>LoCon with {@code lora_mid} (Tucker): {@code Δ[o, i, y, x] = Σ up[o, a] · mid[a, b, y, x] · down[b, i]};</li>
 * <li>LoHa: {@code (w1_a @ w1_b) ⊙ (w2_a @ w2_b)}, with Tucker cores
 *     {@code einsum("i j ..., i p, j r -> p r ...", t, w_a, w_b)};</li>
 * <li>LoKr: {@code kron(w1, w2)}, each factor either whole or {@code _a @ _b}, {@code w2} possibly
 *     a Tucker product;</li>
 * <li>full: {@code diff}.</li>
 * </ul>
 */
sealed interface Delta {

    /**
     * The shape ΔW comes out in. For LoHa and LoKr convolutions stored without a Tucker core the
     * kernel is folded into the second axis ({@code [out, in·kh·kw]}), as LyCORIS stores them;
     * {@link #fits} accepts that against a convolution weight.
     */
    long[] shape();

    /** ΔW in row-major order of {@link #shape()}, times the module's scale. */
    float[] compute();

    /** The module's scale (alpha / rank, or 1), for messages and tests. */
    float scale();

    /** The LyCORIS algorithm name: {@code lora}, {@code locon-tucker}, {@code loha}, {@code lokr}, {@code full}. */
    String kind();

    /** True when this ΔW can be added to a weight of torch shape {@code target}. */
    default boolean fits(long[] target) {
        long[] own = shape();
        if (own.length == 0 || target.length == 0 || own[0] != target[0] || count(own) != count(target)) {
            return false;
        }
        if (Arrays.equals(squeeze(own), squeeze(target))) {
            return true;
        }
        // A folded kernel [out, in·kh·kw] against a convolution [out, in, kh, kw].
        return foldsKernel() && own.length == 2 && target.length > 2;
    }

    /** True when {@link #shape()} may be a convolution's shape with the kernel folded into axis 1. */
    default boolean foldsKernel() {
        return false;
    }

    static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** The shape without trailing ones past the second axis: {@code [o, i, 1, 1]} → {@code [o, i]}. */
    static long[] squeeze(long[] shape) {
        int n = shape.length;
        while (n > 2 && shape[n - 1] == 1) {
            n--;
        }
        return Arrays.copyOf(shape, n);
    }

    /** {@code a [m, k] @ b [k, n]} into a new {@code [m, n]}, times {@code scale}. */
    static float[] matmul(float[] a, float[] b, int m, int k, int n, float scale) {
        float[] out = new float[Math.multiplyExact(m, n)];
        for (int i = 0; i < m; i++) {
            int row = i * n;
            int ai = i * k;
            int p = 0;
            // Four rows of b per pass over the output row: a quarter of the loads and stores of one
            // at a time (2.5× on a 1280×32×1280 LoRA product); the contiguous inner loop vectorizes.
            for (; p + 4 <= k; p += 4) {
                float a0 = a[ai + p] * scale;
                float a1 = a[ai + p + 1] * scale;
                float a2 = a[ai + p + 2] * scale;
                float a3 = a[ai + p + 3] * scale;
                int b0 = p * n;
                int b1 = b0 + n;
                int b2 = b1 + n;
                int b3 = b2 + n;
                for (int j = 0; j < n; j++) {
                    out[row + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
                }
            }
            for (; p < k; p++) {
                float av = a[ai + p] * scale;
                int brow = p * n;
                for (int j = 0; j < n; j++) {
                    out[row + j] += av * b[brow + j];
                }
            }
        }
        return out;
    }

    /**
     * LyCORIS' {@code rebuild_tucker}: {@code einsum("i j ..., i p, j r -> p r ...", t, wa, wb)}
     * for a core {@code t [R1, R2, k...]}, {@code wa [R1, P]}, {@code wb [R2, Q]} → {@code [P, Q, k...]}.
     */
    static float[] tucker(float[] t, int r1, int r2, int kernel, float[] wa, int p, float[] wb, int q) {
        // First contract j: tmp[i, r, k] = Σ_j t[i, j, k] · wb[j, r].
        float[] tmp = new float[r1 * q * kernel];
        for (int i = 0; i < r1; i++) {
            for (int j = 0; j < r2; j++) {
                for (int r = 0; r < q; r++) {
                    float w = wb[j * q + r];
                    if (w == 0) {
                        continue;
                    }
                    int to = (i * q + r) * kernel;
                    int from = (i * r2 + j) * kernel;
                    for (int kk = 0; kk < kernel; kk++) {
                        tmp[to + kk] += t[from + kk] * w;
                    }
                }
            }
        }
        // Then i: out[p, r, k] = Σ_i wa[i, p] · tmp[i, r, k].
        float[] out = new float[Math.multiplyExact(p, q * kernel)];
        int rowLength = q * kernel;
        for (int pp = 0; pp < p; pp++) {
            for (int i = 0; i < r1; i++) {
                float w = wa[i * p + pp];
                if (w == 0) {
                    continue;
                }
                for (int x = 0; x < rowLength; x++) {
                    out[pp * rowLength + x] += w * tmp[i * rowLength + x];
                }
            }
        }
        return out;
    }

    /** Kronecker product of {@code a [m, n]} and {@code b [p, q]} → {@code [m·p, n·q]}, times {@code scale}. */
    static float[] kron(float[] a, int m, int n, float[] b, int p, int q, float scale) {
        int cols = Math.multiplyExact(n, q);
        float[] out = new float[Math.multiplyExact(m * p, cols)];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float av = a[i * n + j] * scale;
                for (int r = 0; r < p; r++) {
                    int to = (i * p + r) * cols + j * q;
                    int from = r * q;
                    for (int c = 0; c < q; c++) {
                        out[to + c] = av * b[from + c];
                    }
                }
            }
        }
        return out;
    }

    static int toInt(long v) {
        return Math.toIntExact(v);
    }

    static int tail(long[] shape) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) {
            n *= shape[i];
        }
        return Math.toIntExact(n);
    }

    /** LoRA and LoCon: {@code up [out, r(, 1, 1)]}, {@code down [r, in(, kh, kw)]}, optional {@code mid [r, r, kh, kw]}. */
    record Lora(SafeTensors file, String up, String down, String mid, long[] shape, int rank, float scale)
            implements Delta {
        @Override
        public float[] compute() {
            long[] upShape = file.entry(up).shape();
            long[] downShape = file.entry(down).shape();
            int out = toInt(upShape[0]);
            float[] u = file.floats(up);
            float[] d = file.floats(down);
            if (mid == null) {
                return matmul(u, d, out, rank, tail(downShape), scale);
            }
            // Tucker: up [out, r] · mid [r, r, kh, kw] · down [r, in]. As LyCORIS rebuilds it:
            // rebuild_tucker(mid, up^T, down) = einsum("i j ..., i p, j r -> p r ...").
            long[] midShape = file.entry(mid).shape();
            int kernel = tail(midShape) / toInt(midShape[1]);
            int in = toInt(downShape[1]);
            float[] upT = new float[rank * out];
            for (int o = 0; o < out; o++) {
                for (int a = 0; a < rank; a++) {
                    upT[a * out + o] = u[o * rank + a];
                }
            }
            float[] w = tucker(file.floats(mid), rank, rank, kernel, upT, out, d, in);
            if (scale != 1) {
                for (int i = 0; i < w.length; i++) {
                    w[i] *= scale;
                }
            }
            return w;
        }

        @Override
        public String kind() {
            return mid == null ? "lora" : "locon-tucker";
        }
    }

    /**
     * LoHa: {@code (w1_a @ w1_b) ⊙ (w2_a @ w2_b)}; with Tucker cores {@code t1}, {@code t2}
     * ({@code [r, r, kh, kw]}, {@code w_a [r, out]}, {@code w_b [r, in]}) each product is
     * {@code rebuild_tucker(t, w_a, w_b)}.
     */
    record Loha(SafeTensors file, String w1a, String w1b, String w2a, String w2b, String t1, String t2, long[] shape,
                float scale) implements Delta {
        @Override
        public float[] compute() {
            float[] first = product(w1a, w1b, t1);
            float[] second = product(w2a, w2b, t2);
            for (int i = 0; i < first.length; i++) {
                first[i] = first[i] * second[i] * scale;
            }
            return first;
        }

        private float[] product(String a, String b, String t) {
            long[] aShape = file.entry(a).shape();
            long[] bShape = file.entry(b).shape();
            if (t == null) {
                return matmul(file.floats(a), file.floats(b), toInt(aShape[0]), toInt(aShape[1]), tail(bShape), 1);
            }
            long[] tShape = file.entry(t).shape();
            return tucker(file.floats(t), toInt(tShape[0]), toInt(tShape[1]), tail(tShape) / toInt(tShape[1]),
                    file.floats(a), toInt(aShape[1]), file.floats(b), toInt(bShape[1]));
        }

        @Override
        public boolean foldsKernel() {
            return t1 == null;
        }

        @Override
        public String kind() {
            return "loha";
        }
    }

    /**
     * LoKr: {@code kron(w1, w2)} with {@code w1 [a, c]} (or {@code w1_a [a, r] @ w1_b [r, c]}) and
     * {@code w2 [b, d(, kh, kw)]} (or {@code w2_a [b, r] @ w2_b [r, d·kh·kw]}, or with {@code t2}
     * {@code rebuild_tucker(t2, w2_a [r, b], w2_b [r, d])}); the kernel of {@code w2} stays on the
     * right of the second axis, as {@code torch.kron} with {@code w1} unsqueezed puts it.
     */
    record Lokr(SafeTensors file, String w1, String w1a, String w1b, String w2, String w2a, String w2b, String t2,
                long[] shape, float scale) implements Delta {
        @Override
        public float[] compute() {
            float[] first;
            int a;
            int c;
            if (w1 != null) {
                long[] s = file.entry(w1).shape();
                a = toInt(s[0]);
                c = tail(s);
                first = file.floats(w1);
            } else {
                long[] sa = file.entry(w1a).shape();
                long[] sb = file.entry(w1b).shape();
                a = toInt(sa[0]);
                c = tail(sb);
                first = matmul(file.floats(w1a), file.floats(w1b), a, toInt(sa[1]), c, 1);
            }
            float[] second;
            int b;
            int dk;
            if (w2 != null) {
                long[] s = file.entry(w2).shape();
                b = toInt(s[0]);
                dk = tail(s);
                second = file.floats(w2);
            } else if (t2 == null) {
                long[] sa = file.entry(w2a).shape();
                long[] sb = file.entry(w2b).shape();
                b = toInt(sa[0]);
                dk = tail(sb);
                second = matmul(file.floats(w2a), file.floats(w2b), b, toInt(sa[1]), dk, 1);
            } else {
                long[] ts = file.entry(t2).shape();
                long[] sa = file.entry(w2a).shape();
                long[] sb = file.entry(w2b).shape();
                int kernel = tail(ts) / toInt(ts[1]);
                b = toInt(sa[1]);
                dk = toInt(sb[1]) * kernel;
                second = tucker(file.floats(t2), toInt(ts[0]), toInt(ts[1]), kernel, file.floats(w2a), b,
                        file.floats(w2b), toInt(sb[1]));
            }
            return kron(first, a, c, second, b, dk, scale);
        }

        @Override
        public boolean foldsKernel() {
            return shape.length == 2;
        }

        @Override
        public String kind() {
            return "lokr";
        }
    }

    /** A full delta ({@code .diff}), stored in the weight's own torch shape. */
    record Full(SafeTensors file, String diff, long[] shape) implements Delta {
        @Override
        public float[] compute() {
            return file.floats(diff);
        }

        @Override
        public float scale() {
            return 1;
        }

        @Override
        public String kind() {
            return "full";
        }
    }
}
