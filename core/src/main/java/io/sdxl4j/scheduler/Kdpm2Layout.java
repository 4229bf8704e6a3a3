// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/** The interleaved σ layout diffusers' KDPM2 schedulers expose: [σ₀, σ₁, σ₁, …, σ_n, σ_n, σ_n]. */
final class Kdpm2Layout {

    private Kdpm2Layout() {
    }

    static float[] interleave(float[] values) {
        int n = values.length - 1;
        float[] out = new float[2 * n + 2];
        out[0] = values[0];
        for (int i = 1; i <= n; i++) {
            out[2 * i - 1] = values[i];
            out[2 * i] = values[i];
        }
        out[2 * n + 1] = values[n];
        return out;
    }
}
