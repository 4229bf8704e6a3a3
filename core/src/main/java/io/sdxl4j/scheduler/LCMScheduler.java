// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Latent consistency model sampling (Luo et al. 2023, Algorithm 1), diffusers' {@code LCMScheduler}:
 * each step maps the sample to a consistency estimate c_skip·x + c_out·x̂₀ (the boundary
 * condition of Song et al. 2023 at σ_data = 0.5, the timestep scaled by {@code timestep_scaling})
 * and re-noises it to the next timestep with fresh noise, except after the last step. Timesteps come
 * from the distillation schedule of {@code original_inference_steps} (default 50), so
 * {@code timestep_spacing} plays no part, as in diffusers.
 */
final class LCMScheduler extends AlphaSampler {

    static final String NAME = "LCMScheduler";

    private final int originalSteps;
    private final double timestepScaling;
    private final float finalAlphaCumprod;

    public LCMScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.LATENT_SCALED, true, false), false);
        this.originalSteps = config.getInt("original_inference_steps", 50);
        this.timestepScaling = config.getDouble("timestep_scaling", 10.0);
        this.finalAlphaCumprod = config.getBoolean("set_alpha_to_one", true) ? 1f : train.alphasCumprod[0];
        if (originalSteps < 1 || originalSteps > train.numTrainTimesteps) {
            throw new io.sdxl4j.SdxlException(config.source() + ": original_inference_steps " + originalSteps
                    + " is outside [1, num_train_timesteps]");
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int scratchTensors() {
        return 2; // clipped x̂₀, noise
    }

    @Override
    protected void schedule(int steps) {
        if (steps > originalSteps) {
            throw new InvalidRequestException("steps", steps, "exceeds LCM's original_inference_steps "
                    + originalSteps);
        }
        // The distillation schedule k·i − 1, i = 1 … original_steps (k = T / original_steps), highest first,
        // sampled at floor(linspace(0, len, n, endpoint=False)).
        int k = train.numTrainTimesteps / originalSteps;
        timesteps = new double[steps];
        for (int i = 0; i < steps; i++) {
            int position = (int) Math.floor(i * ((double) originalSteps / steps));
            timesteps[i] = (long) (originalSteps - position) * k - 1;
        }
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        int t = (int) timesteps[index];
        int prev = index + 1 < timesteps.length ? (int) timesteps[index + 1] : t;
        double alpha = train.alphasCumprod[t];
        double alphaPrev = train.alphaCumprod(prev, finalAlphaCumprod);
        double scaled = t * timestepScaling;
        double cSkip = 0.25 / (scaled * scaled + 0.25);
        double cOut = scaled / Math.sqrt(scaled * scaled + 0.25);
        boolean last = index == numInferenceSteps - 1;
        double a = last ? 1 : Math.sqrt(alphaPrev);
        double b = last ? 0 : Math.sqrt(1 - alphaPrev);
        Tensor eps = scratch(1);
        if (!last) {
            ops.randn(eps, noise);
        }
        // x = a·(c_skip·x + c_out·x̂₀) + b·ε
        if (x0Coefficients(alpha)) {
            Tensor clipped = scratch(0);
            clippedX0(clipped, sample, modelOutput);
            ops.axpbypcz(sample, (float) (a * cSkip), sample, (float) (a * cOut), clipped, (float) b, eps);
        } else {
            ops.axpbypcz(sample, (float) (a * (cSkip + cOut * x0[0])), sample, (float) (a * cOut * x0[1]),
                    modelOutput, (float) b, eps);
        }
    }
}
