// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.random;

import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/** Replays recorded draws in order (diffusers' {@code noise_NN.npy} files), for tests and diagnosis. */
public final class RecordedNoise implements NoiseSource {

    private final Deque<float[]> draws;

    public RecordedNoise(List<float[]> draws) {
        this.draws = new ArrayDeque<>(draws);
    }

    /** Draws not consumed yet. */
    public int remaining() {
        return draws.size();
    }

    @Override
    public void randn(FloatBuffer dst, int count) {
        float[] next = next(count);
        dst.put(0, next, 0, count);
    }

    @Override
    public void skipRandn(int count) {
        next(count);
    }

    private float[] next(int count) {
        float[] next = draws.poll();
        if (next == null) {
            throw new IllegalStateException("no recorded draw left for a draw of " + count + " values");
        }
        if (next.length != count) {
            throw new IllegalStateException("recorded draw has " + next.length + " values, the pipeline asked for "
                    + count);
        }
        return next;
    }
}
