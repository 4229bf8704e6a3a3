// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Ancestral sampling of denoising diffusion probabilistic models (Ho et al. 2020, eq. 6–7),
 * diffusers' {@code DDPMScheduler}: the posterior mean of x_{t−Δ} given x̂₀ and x_t, plus noise of
 * the posterior's variance, drawn every step but the last.
 *
 * <p>Options: spacing (default leading), {@code steps_offset}, {@code prediction_type},
 * {@code variance_type} (fixed_small, fixed_small_log, fixed_large), {@code clip_sample} (default
 * true), {@code rescale_betas_zero_snr} and the betas.
 */
final class DDPMScheduler extends AlphaSampler {

    static final String NAME = "DDPMScheduler";

    private final TimestepSpacing spacing;
    private final int stepsOffset;
    private final boolean largeVariance;

    public DDPMScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, true, false), true);
        this.spacing = Schedulers.spacing(config, NAME, "leading");
        this.stepsOffset = config.getInt("steps_offset", 0);
        String variance = config.getString("variance_type", "fixed_small");
        config.requireOneOf(NAME, "variance_type", variance, "fixed_small", "fixed_small_log", "fixed_large");
        this.largeVariance = variance.equals("fixed_large");
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
        setTimesteps(NoiseSchedules.integerTimesteps(spacing, train.numTrainTimesteps, steps, stepsOffset));
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        int t = (int) timesteps[index];
        int prev = t - train.numTrainTimesteps / numInferenceSteps;
        double alpha = train.alphasCumprod[t];
        double alphaPrev = train.alphaCumprod(prev, 1f);
        double beta = 1 - alpha;
        double betaPrev = 1 - alphaPrev;
        double currentAlpha = alpha / alphaPrev;
        double currentBeta = 1 - currentAlpha;
        double x0Coeff = Math.sqrt(alphaPrev) * currentBeta / beta;
        double sampleCoeff = Math.sqrt(currentAlpha) * betaPrev / beta;
        boolean clip = x0Coefficients(alpha);
        Tensor clipped = scratch(0);
        if (clip) {
            clippedX0(clipped, sample, modelOutput);
        }
        double std = 0;
        Tensor eps = scratch(1);
        if (t > 0) {
            ops.randn(eps, noise);
            double variance = largeVariance ? currentBeta : Math.max(betaPrev / beta * currentBeta, 1e-20);
            std = Math.sqrt(variance);
        }
        if (clip) {
            ops.axpbypcz(sample, (float) sampleCoeff, sample, (float) x0Coeff, clipped, (float) std, eps);
        } else {
            ops.axpbypcz(sample, (float) (sampleCoeff + x0Coeff * x0[0]), sample, (float) (x0Coeff * x0[1]),
                    modelOutput, (float) std, eps);
        }
    }
}
