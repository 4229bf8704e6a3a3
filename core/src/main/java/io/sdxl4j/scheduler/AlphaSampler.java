// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.tensor.Tensor;

/**
 * The schedulers that step on ᾱ at integer timesteps (DDIM, DDPM, LCM): the sample is
 * variance-preserving, x_t = sqrt(ᾱ_t)·x₀ + sqrt(1−ᾱ_t)·ε, enters the model unscaled, and each step
 * estimates x̂₀ (optionally clipped to {@code clip_sample_range}, diffusers' {@code clip_sample}).
 */
abstract class AlphaSampler extends BaseScheduler {

    protected final PredictionType predictionType;
    protected final boolean clipSample;
    protected final float clipRange;
    protected final double[] x0 = new double[2];

    AlphaSampler(String name, SchedulerConfig config, TrainingSchedule train, boolean clipSampleDefault) {
        super(config, train);
        this.predictionType = PredictionType.fromConfig(config, name);
        this.clipSample = config.getBoolean("clip_sample", clipSampleDefault);
        this.clipRange = (float) config.getDouble("clip_sample_range", 1.0);
        config.requireFalse(name, "thresholding");
    }

    @Override
    public void addNoise(Tensor original, Tensor noise, int index, Tensor out) {
        addNoiseAtTimestep(original, noise, (int) timesteps[index], out);
    }

    /** Sets {@link #x0} to x̂₀'s coefficients at ᾱ and returns true when x̂₀ must be materialised (clipping). */
    protected final boolean x0Coefficients(double alphaProd) {
        Predictions.x0FromAlpha(predictionType, Math.sqrt(alphaProd), Math.sqrt(1 - alphaProd), x0);
        return clipSample;
    }

    /** Writes the clipped x̂₀ into {@code dst}. */
    protected final void clippedX0(Tensor dst, Tensor sample, Tensor modelOutput) {
        ops.axpby(dst, (float) x0[0], sample, (float) x0[1], modelOutput);
        ops.clamp(dst, dst, -clipRange, clipRange);
    }
}
