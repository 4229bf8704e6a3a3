// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/**
 * The training noise schedule of a config, computed once per scheduler: ᾱ_t, σ_t = sqrt((1-ᾱ_t)/ᾱ_t)
 * and log σ_t for t = 0 … T-1, in float32 as diffusers' torch tensors hold them.
 */
final class TrainingSchedule {

    final int numTrainTimesteps;
    final float[] alphasCumprod;
    final float[] sigmas;
    final float[] logSigmas;

    private TrainingSchedule(float[] alphasCumprod) {
        this.numTrainTimesteps = alphasCumprod.length;
        this.alphasCumprod = alphasCumprod;
        this.sigmas = NoiseSchedules.trainSigmas(alphasCumprod);
        this.logSigmas = NoiseSchedules.log(sigmas);
    }

    /**
     * The schedule a scheduler class builds from {@code config}.
     *
     * @param defaults       the class's beta defaults
     * @param zeroSnr        whether the class has {@code rescale_betas_zero_snr} (classes without it
     *                       ignore the key, as diffusers does)
     * @param clampLastAlpha whether the class then sets the last ᾱ to 2⁻²⁴ so that σ stays finite
     *                       (the sigma-based classes do; DDIM keeps ᾱ = 0 and divides by zero at t = T-1)
     */
    static TrainingSchedule of(SchedulerConfig config, BetaDefaults defaults, boolean zeroSnr, boolean clampLastAlpha) {
        float[] betas = NoiseSchedules.betas(config, defaults);
        boolean rescale = zeroSnr && config.getBoolean("rescale_betas_zero_snr", false);
        if (rescale) {
            betas = NoiseSchedules.rescaleZeroTerminalSnr(betas);
        }
        float[] alphasCumprod = NoiseSchedules.alphasCumprod(betas);
        if (rescale && clampLastAlpha) {
            alphasCumprod[alphasCumprod.length - 1] = 0x1.0p-24f;
        }
        return new TrainingSchedule(alphasCumprod);
    }

    /** σ of the first training step, sqrt((1-ᾱ₀)/ᾱ₀): the {@code sigma_min} final sigma. */
    float sigmaMin() {
        return sigmas[0];
    }

    /** ᾱ at a training timestep, or {@code whenNegative} before the first one. */
    float alphaCumprod(int t, float whenNegative) {
        return t >= 0 ? alphasCumprod[t] : whenNegative;
    }
}
