// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Linear multistep sampling (k-diffusion's {@code sample_lms}), diffusers'
 * {@code LMSDiscreteScheduler}: x += Σ_k c_k·d_{i−k} over the last four ODE derivatives, each c_k
 * the integral over [σ_i, σ_{i+1}] of the Lagrange basis polynomial through the derivatives' σ.
 * diffusers integrates numerically ({@code scipy.integrate.quad}); the integrand is a polynomial of
 * degree at most 3, which 4-point Gauss–Legendre integrates exactly.
 */
final class LMSDiscreteScheduler extends SigmaSampler {

    static final String NAME = "LMSDiscreteScheduler";
    private static final int ORDER = 4;
    // 4-point Gauss–Legendre nodes and weights on [-1, 1].
    private static final double[] NODES = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563,
        0.8611363115940526};
    private static final double[] WEIGHTS = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461,
        0.3478548451374538};

    private final double[] ab = new double[2];
    private final float[] weights = new float[ORDER + 1];
    private final Tensor[] terms = new Tensor[ORDER + 1];
    private int derivatives;
    private int newest;

    public LMSDiscreteScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, false, false), true);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int scratchTensors() {
        return ORDER; // a ring of the last derivatives
    }

    @Override
    protected void reset() {
        derivatives = 0;
        newest = -1;
    }

    @Override
    protected void schedule(int steps) {
        SigmaSchedule s = SigmaSchedule.spaced(train, spacing, steps, stepsOffset, karras, null, false);
        sigmas = s.sigmas();
        timesteps = s.float32Timesteps();
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        double sigma = sigmas[index];
        newest = (newest + 1) % ORDER;
        derivative(sigma, sigma, ab);
        ops.axpby(scratch(newest), (float) ab[0], sample, (float) ab[1], modelOutput);
        derivatives = Math.min(derivatives + 1, ORDER);
        // diffusers takes the order from the absolute step index, and pairs the coefficients with as
        // many derivatives as it has (fewer than the order right after an img2img start).
        int order = Math.min(index + 1, ORDER);
        int used = Math.min(order, derivatives);
        weights[0] = 1f;
        terms[0] = sample;
        for (int k = 0; k < used; k++) {
            weights[k + 1] = (float) coefficient(order, index, k);
            terms[k + 1] = scratch(Math.floorMod(newest - k, ORDER));
        }
        ops.linearCombination(sample, weights, terms, used + 1);
    }

    /** ∫_{σ_t}^{σ_{t+1}} Π_{j≠k} (τ − σ_{t−j})/(σ_{t−k} − σ_{t−j}) dτ, diffusers' get_lms_coefficient. */
    private double coefficient(int order, int t, int k) {
        double a = sigmas[t];
        double b = sigmas[t + 1];
        double half = (b - a) / 2;
        double mid = (a + b) / 2;
        double sum = 0;
        for (int q = 0; q < NODES.length; q++) {
            double tau = mid + half * NODES[q];
            double prod = 1;
            for (int j = 0; j < order; j++) {
                if (j != k) {
                    prod *= (tau - sigmas[t - j]) / ((double) sigmas[t - k] - sigmas[t - j]);
                }
            }
            sum += WEIGHTS[q] * prod;
        }
        return sum * half;
    }
}
