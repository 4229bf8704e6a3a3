// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Ancestral DPM-Solver-2 (k-diffusion's {@code sample_dpm_2_ancestral}), diffusers'
 * {@code KDPM2AncestralDiscreteScheduler}: the two-evaluation step of KDPM2 down to σ_down, then
 * noise of std σ_up as in Euler a. Like diffusers it draws a noise tensor at every evaluation (and
 * uses the second one of each step).
 */
final class KDPM2AncestralDiscreteScheduler extends SigmaSampler {

    static final String NAME = "KDPM2AncestralDiscreteScheduler";

    private float[] base = new float[0];
    private float[] up = new float[0];
    private float[] down = new float[0];
    private float[] mid = new float[0];
    private final double[] ab = new double[2];
    private final float[] weights = new float[4];
    private final Tensor[] terms = new Tensor[4];

    public KDPM2AncestralDiscreteScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.LATENT_LINEAR, false, false), false);
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
        return 2; // the step's starting sample, the noise
    }

    @Override
    protected void schedule(int steps) {
        SigmaSchedule s = SigmaSchedule.spaced(train, spacing, steps, stepsOffset, karras, null, true);
        base = s.sigmas();
        int n = base.length;
        up = new float[n];
        down = new float[n];
        mid = new float[n];
        for (int i = 0; i < n; i++) {
            float from = base[i];
            float to = i + 1 < n ? base[i + 1] : 0f;
            up[i] = (float) Math.sqrt(to * to * (from * from - to * to) / (from * from));
            down[i] = i + 1 < n ? (float) Math.sqrt(to * to - up[i] * up[i]) : 0f;
        }
        for (int i = 0; i < n - 2; i++) {
            mid[i] = KDPM2DiscreteScheduler.geometricMean(base[i], down[i]);
        }
        sigmas = Kdpm2Layout.interleave(base);
        double[] t = s.float32Timesteps();
        timesteps = new double[2 * steps - 1];
        timesteps[0] = t[0];
        for (int k = 1; k < steps; k++) {
            timesteps[2 * k - 1] = NoiseSchedules.sigmaToT(mid[k - 1], train.logSigmas);
            timesteps[2 * k] = t[k];
        }
        if (!karras) {
            for (int i = 0; i < timesteps.length; i++) {
                timesteps[i] = (float) timesteps[i];
            }
        }
    }

    @Override
    public double inputScale(int index) {
        int k = index / 2;
        return unitVarianceScale(index % 2 == 0 ? base[k] : mid[k]);
    }

    @Override
    public void addNoise(Tensor original, Tensor noise, int index, Tensor out) {
        ops.axpby(out, 1f, original, sigmas[index], noise);
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        int k = index / 2;
        double sigma = base[k];
        Tensor start = scratch(0);
        Tensor eps = scratch(1);
        ops.randn(eps, noise);
        if (index % 2 == 0) {
            ops.copy(start, sample);
            eulerStep(sample, sample, modelOutput, sigma, sigma, mid[k] - sigma);
        } else {
            derivative(mid[k], mid[k], ab);
            double dt = down[k] - sigma;
            // x = x_start + dt·d_mid + σ_up·ε
            weights[0] = (float) (dt * ab[0]);
            weights[1] = (float) (dt * ab[1]);
            weights[2] = 1f;
            weights[3] = up[k];
            terms[0] = sample;
            terms[1] = modelOutput;
            terms[2] = start;
            terms[3] = eps;
            ops.linearCombination(sample, weights, terms, 4);
        }
    }
}
