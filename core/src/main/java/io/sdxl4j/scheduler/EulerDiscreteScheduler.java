// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * The Euler method on the probability-flow ODE in σ (Karras et al. 2022, Algorithm 2 with
 * S_churn = 0), diffusers' {@code EulerDiscreteScheduler}: SDXL base's default sampler.
 *
 * <p>Options: {@code timestep_spacing}, {@code steps_offset}, {@code prediction_type},
 * {@code interpolation_type} (linear, log_linear), {@code use_karras_sigmas} with
 * {@code sigma_min}/{@code sigma_max}, {@code timestep_type} (discrete, continuous),
 * {@code final_sigmas_type} (zero, sigma_min), {@code rescale_betas_zero_snr} and the betas. Like
 * diffusers, each step draws (and, with S_churn = 0, ignores) one noise tensor of the latents'
 * size, so that later draws of the same generator line up.
 */
final class EulerDiscreteScheduler extends SigmaSampler {

    static final String NAME = "EulerDiscreteScheduler";

    private final boolean logLinear;
    private final double[] karrasEnds;
    private final boolean continuousTimesteps;
    private final boolean finalSigmaMin;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, true, true), true);
        config.requireFalse(NAME, "use_exponential_sigmas");
        config.requireFalse(NAME, "use_beta_sigmas");
        String interpolation = config.getString("interpolation_type", "linear");
        config.requireOneOf(NAME, "interpolation_type", interpolation, "linear", "log_linear");
        this.logLinear = interpolation.equals("log_linear");
        this.karrasEnds = new double[] {config.getOptionalDouble("sigma_min").orElse(Double.NaN),
            config.getOptionalDouble("sigma_max").orElse(Double.NaN)};
        String timestepType = config.getString("timestep_type", "discrete");
        config.requireOneOf(NAME, "timestep_type", timestepType, "discrete", "continuous");
        this.continuousTimesteps = timestepType.equals("continuous") && predictionType == PredictionType.V_PREDICTION;
        String finalSigmas = config.getString("final_sigmas_type", "zero");
        config.requireOneOf(NAME, "final_sigmas_type", finalSigmas, "zero", "sigma_min");
        this.finalSigmaMin = finalSigmas.equals("sigma_min");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected void schedule(int steps) {
        SigmaSchedule s;
        if (logLinear) {
            // diffusers: torch.linspace(log σ_max, log σ_min, n + 1).exp(), whatever the spacing says.
            double[] t = NoiseSchedules.sigmaTimesteps(spacing, train.numTrainTimesteps, steps, stepsOffset);
            float[] lin = NoiseSchedules.torchLinspace((float) Math.log(train.sigmas[train.sigmas.length - 1]),
                    (float) Math.log(train.sigmas[0]), steps + 1);
            float[] sig = new float[lin.length + 1];
            for (int i = 0; i < lin.length; i++) {
                sig[i] = (float) Math.exp(lin[i]);
            }
            s = new SigmaSchedule(t, sig);
        } else {
            s = SigmaSchedule.spaced(train, spacing, steps, stepsOffset, karras, karrasEnds, false);
        }
        if (finalSigmaMin) {
            s = s.withFinalSigma(train.sigmaMin());
        }
        sigmas = s.sigmas();
        timesteps = new double[s.steps()];
        for (int i = 0; i < timesteps.length; i++) {
            timesteps[i] = continuousTimesteps ? (float) (0.25 * Math.log(sigmas[i])) : (float) s.timesteps()[i];
        }
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        // diffusers draws ε for the churn even when S_churn = 0 leaves it unused.
        noise.skipRandn(latentElements);
        float sigma = sigmas[index];
        eulerStep(sample, sample, modelOutput, sigma, sigma, sigmas[index + 1] - sigma);
    }
}
