// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * DPM-Solver-2 in k-diffusion's form ({@code sample_dpm_2}), diffusers'
 * {@code KDPM2DiscreteScheduler}: each step evaluates the model at σ_i and at the geometric mean
 * σ_mid = sqrt(σ_i·σ_{i+1}), then takes the full step with the midpoint derivative. Evaluations
 * alternate [t₀, t(σ_mid,1), t₁, t(σ_mid,2), …] as in diffusers; the last step goes to σ = 0 with
 * the first evaluation alone.
 */
final class KDPM2DiscreteScheduler extends SigmaSampler {

    static final String NAME = "KDPM2DiscreteScheduler";

    private float[] base = new float[0];
    private float[] mid = new float[0];
    private final double[] ab = new double[2];

    public KDPM2DiscreteScheduler(SchedulerConfig config) {
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
        return 1; // the step's starting sample
    }

    @Override
    protected void schedule(int steps) {
        SigmaSchedule s = SigmaSchedule.spaced(train, spacing, steps, stepsOffset, karras, null, true);
        base = s.sigmas();
        // σ_mid,i = exp(lerp(log σ_i, log σ_{i−1}, ½)); 0 for the final σ = 0.
        mid = new float[base.length];
        for (int i = 1; i < base.length; i++) {
            mid[i] = base[i] == 0f ? 0f : geometricMean(base[i], base[i - 1]);
        }
        sigmas = Kdpm2Layout.interleave(base);
        double[] t = s.float32Timesteps();
        timesteps = new double[2 * steps - 1];
        timesteps[0] = t[0];
        for (int k = 1; k < steps; k++) {
            timesteps[2 * k - 1] = NoiseSchedules.sigmaToT(mid[k], train.logSigmas);
            timesteps[2 * k] = t[k];
        }
        if (!karras) {
            for (int i = 0; i < timesteps.length; i++) {
                timesteps[i] = (float) timesteps[i];
            }
        }
    }

    /** exp(lerp(log a, log b, ½)) in float32, as torch's lerp computes it at weight ½. */
    static float geometricMean(float a, float b) {
        float la = (float) Math.log(a);
        float lb = (float) Math.log(b);
        return (float) Math.exp(lb - (lb - la) * 0.5f);
    }

    @Override
    public double inputScale(int index) {
        int k = index / 2;
        return unitVarianceScale(index % 2 == 0 ? base[k] : mid[k + 1]);
    }

    @Override
    public void addNoise(Tensor original, Tensor noise, int index, Tensor out) {
        ops.axpby(out, 1f, original, sigmas[index], noise);
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        int k = index / 2;
        double sigma = base[k];
        double sigmaMid = mid[k + 1];
        Tensor start = scratch(0);
        if (index % 2 == 0) {
            ops.copy(start, sample);
            eulerStep(sample, sample, modelOutput, sigma, sigma, sigmaMid - sigma);
        } else {
            derivative(sigmaMid, sigmaMid, ab);
            double dt = base[k + 1] - sigma;
            ops.axpbypcz(sample, (float) (dt * ab[0]), sample, (float) (dt * ab[1]), modelOutput, 1f, start);
        }
    }
}
