// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

/** Deterministic pseudo-random weights (SplitMix64): the same seed writes the same model. */
final class Weights {

    private long state;

    Weights(long seed) {
        this.state = seed;
    }

    private long next() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [−bound, bound). */
    float uniform(float bound) {
        float u = (next() >>> 40) * 0x1.0p-24f;
        return (2f * u - 1f) * bound;
    }
}
