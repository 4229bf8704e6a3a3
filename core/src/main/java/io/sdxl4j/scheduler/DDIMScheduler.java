// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Denoising diffusion implicit models (Song et al. 2021, eq. 12 with η = 0, the pipelines' default),
 * diffusers' {@code DDIMScheduler}: x_{t−Δ} = sqrt(ᾱ_{t−Δ})·x̂₀ + sqrt(1 − ᾱ_{t−Δ})·ε̂, with Δ = T/n.
 *
 * <p>Options: spacing (default leading), {@code steps_offset}, {@code prediction_type},
 * {@code clip_sample} (default true) with {@code clip_sample_range}, {@code set_alpha_to_one}
 * (default true), {@code rescale_betas_zero_snr} and the betas; {@code thresholding} is refused.
 */
final class DDIMScheduler extends AlphaSampler {

    static final String NAME = "DDIMScheduler";

    private final TimestepSpacing spacing;
    private final int stepsOffset;
    private final float finalAlphaCumprod;
    private final double[] eps = new double[2];

    public DDIMScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, true, false), true);
        this.spacing = Schedulers.spacing(config, NAME, "leading");
        this.stepsOffset = config.getInt("steps_offset", 0);
        this.finalAlphaCumprod = config.getBoolean("set_alpha_to_one", true) ? 1f : train.alphasCumprod[0];
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int scratchTensors() {
        return 1;
    }

    @Override
    protected void schedule(int steps) {
        setTimesteps(NoiseSchedules.integerTimesteps(spacing, train.numTrainTimesteps, steps, stepsOffset));
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        int t = (int) timesteps[index];
        // diffusers steps back by T/n whatever the spacing.
        int prev = t - train.numTrainTimesteps / numInferenceSteps;
        double alpha = train.alphasCumprod[t];
        double alphaPrev = train.alphaCumprod(prev, finalAlphaCumprod);
        Predictions.epsilonFromAlpha(predictionType, Math.sqrt(alpha), Math.sqrt(1 - alpha), eps);
        double a = Math.sqrt(alphaPrev);
        double b = Math.sqrt(1 - alphaPrev);
        if (x0Coefficients(alpha)) {
            Tensor clipped = scratch(0);
            clippedX0(clipped, sample, modelOutput);
            ops.axpbypcz(sample, (float) (b * eps[0]), sample, (float) (b * eps[1]), modelOutput, (float) a, clipped);
        } else {
            ops.axpby(sample, (float) (a * x0[0] + b * eps[0]), sample, (float) (a * x0[1] + b * eps[1]), modelOutput);
        }
    }
}
