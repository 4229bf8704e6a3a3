// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Heun's second-order method (Karras et al. 2022, Algorithm 1), diffusers'
 * {@code HeunDiscreteScheduler}: two model evaluations per step, an Euler predictor to σ_next and
 * a trapezoidal corrector with the average of both derivatives. Its timesteps are interleaved
 * ([t₀, t₁, t₁, t₂, t₂, …]), so it has 2n − 1 evaluations for n steps, as in diffusers; the last
 * step, which ends at σ = 0, is a plain Euler step.
 *
 * <p>Options: spacing, {@code steps_offset}, {@code prediction_type}, {@code use_karras_sigmas},
 * {@code clip_sample} with {@code clip_sample_range}.
 */
final class HeunDiscreteScheduler extends SigmaSampler {

    static final String NAME = "HeunDiscreteScheduler";

    private final boolean clipSample;
    private final float clipRange;
    private final double[] ab = new double[2];
    private double dt;

    public HeunDiscreteScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.LATENT_LINEAR, false, false), true);
        this.clipSample = config.getBoolean("clip_sample", false);
        this.clipRange = (float) config.getDouble("clip_sample_range", 1.0);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int order() {
        return 2;
    }

    @Override
    protected int scratchTensors() {
        return 3; // the first stage's derivative, its starting sample, x̂₀ when clipping
    }

    @Override
    protected void schedule(int steps) {
        SigmaSchedule s = SigmaSchedule.spaced(train, spacing, steps, stepsOffset, karras, null, false);
        // σ: [σ₀, σ₁, σ₁, …, σ_{n−1}, σ_{n−1}, 0]; t: [t₀, t₁, t₁, …, t_{n−1}, t_{n−1}].
        float[] base = s.sigmas();
        sigmas = new float[2 * steps];
        sigmas[0] = base[0];
        for (int i = 1; i < steps; i++) {
            sigmas[2 * i - 1] = base[i];
            sigmas[2 * i] = base[i];
        }
        sigmas[2 * steps - 1] = base[steps];
        double[] t = s.float32Timesteps();
        timesteps = new double[2 * steps - 1];
        timesteps[0] = t[0];
        for (int i = 1; i < steps; i++) {
            timesteps[2 * i - 1] = t[i];
            timesteps[2 * i] = t[i];
        }
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        // Even evaluations start a step (first order), odd ones finish it (second order).
        boolean firstOrder = index % 2 == 0;
        Tensor firstDerivative = scratch(0);
        Tensor start = scratch(1);
        if (firstOrder) {
            double sigma = sigmas[index];
            double next = sigmas[index + 1];
            derivativeInto(firstDerivative, sample, modelOutput, sigma, sigma);
            dt = next - sigma;
            ops.copy(start, sample);
            ops.axpby(sample, 1f, sample, (float) dt, firstDerivative);
        } else {
            double next = sigmas[index];
            Tensor second = scratch(2);
            derivativeInto(second, sample, modelOutput, next, next);
            // x = x_start + dt·(d₁ + d₂)/2
            ops.axpbypcz(sample, 1f, start, (float) (dt / 2), firstDerivative, (float) (dt / 2), second);
        }
    }

    /** dst = (x − x̂₀)/σ_div with x̂₀ at σ_in, clipped to the configured range when asked. */
    private void derivativeInto(Tensor dst, Tensor sample, Tensor modelOutput, double sigmaIn, double sigmaDiv) {
        if (!clipSample) {
            derivative(sigmaIn, sigmaDiv, ab);
            ops.axpby(dst, (float) ab[0], sample, (float) ab[1], modelOutput);
            return;
        }
        Tensor x0 = dst;
        Predictions.x0FromSigma(predictionType, sigmaIn, ab);
        ops.axpby(x0, (float) ab[0], sample, (float) ab[1], modelOutput);
        ops.clamp(x0, x0, -clipRange, clipRange);
        ops.axpby(dst, (float) (1 / sigmaDiv), sample, (float) (-1 / sigmaDiv), x0);
    }
}
