// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
/**
 * A sampling schedule in σ: the timesteps fed to the model and the noise levels σ_i, one more σ
 * than timesteps (the level the last step ends at). Built by the shared functions below and
 * consumed by any sampler, so that a schedule (spaced, Karras) is never tied to a stepping rule.
 */
record SigmaSchedule(double[] timesteps, float[] sigmas) {

    /**
     * The k-diffusion samplers' schedule (Euler, Euler a, Heun, LMS, KDPM2): spaced float timesteps,
     * σ interpolated from the training σ, or Karras et al. 2022 σ between the spaced schedule's ends
     * with timesteps mapped back by log-σ interpolation; a final σ of 0.
     *
     * @param karrasEnds       the (σ_min, σ_max) override of Euler's {@code sigma_min}/{@code sigma_max}, or null
     * @param roundKarrasTimesteps whether Karras timesteps are rounded (KDPM2) or left fractional
     */
    static SigmaSchedule spaced(TrainingSchedule train, TimestepSpacing spacing, int steps, int stepsOffset,
                                boolean karras, double[] karrasEnds, boolean roundKarrasTimesteps) {
        double[] t = NoiseSchedules.sigmaTimesteps(spacing, train.numTrainTimesteps, steps, stepsOffset);
        double[] s = NoiseSchedules.interpolate(t, train.sigmas);
        if (karras) {
            double lo = karrasEnds != null && !Double.isNaN(karrasEnds[0]) ? karrasEnds[0] : s[s.length - 1];
            double hi = karrasEnds != null && !Double.isNaN(karrasEnds[1]) ? karrasEnds[1] : s[0];
            s = NoiseSchedules.karrasSigmas(lo, hi, steps);
            t = sigmaToTimesteps(s, train, roundKarrasTimesteps);
        }
        return new SigmaSchedule(t, withLast(s, 0f));
    }

    /**
     * The schedule of the DPM-Solver and UniPC families: integer timesteps of
     * {@link NoiseSchedules#solverTimesteps}, σ of the training schedule at them, or Karras σ over
     * the whole training range with rounded timesteps; then {@code last} as the final σ.
     */
    static SigmaSchedule solver(TrainingSchedule train, long[] timesteps, boolean karras, int steps) {
        double[] t = new double[timesteps.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = timesteps[i];
        }
        double[] s;
        if (karras) {
            s = NoiseSchedules.karrasSigmas(train.sigmas[0], train.sigmas[train.sigmas.length - 1], steps);
            t = sigmaToTimesteps(s, train, true);
        } else {
            s = NoiseSchedules.interpolate(t, train.sigmas);
        }
        return new SigmaSchedule(t, withLast(s, Float.NaN));
    }

    /** The same schedule with the final σ set. */
    SigmaSchedule withFinalSigma(float last) {
        float[] copy = sigmas.clone();
        copy[copy.length - 1] = last;
        return new SigmaSchedule(timesteps, copy);
    }

    int steps() {
        return timesteps.length;
    }

    /** The timesteps as diffusers' float32 tensor holds them. */
    double[] float32Timesteps() {
        double[] out = new double[timesteps.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) timesteps[i];
        }
        return out;
    }

    private static double[] sigmaToTimesteps(double[] s, TrainingSchedule train, boolean round) {
        double[] t = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            double v = NoiseSchedules.sigmaToT(s[i], train.logSigmas);
            t[i] = round ? Math.rint(v) : v;
        }
        return t;
    }

    private static float[] withLast(double[] s, float last) {
        float[] out = new float[s.length + 1];
        for (int i = 0; i < s.length; i++) {
            out[i] = (float) s[i];
        }
        out[s.length] = last;
        return out;
    }
}
