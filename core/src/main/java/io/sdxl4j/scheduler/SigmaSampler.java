// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.tensor.Tensor;

/**
 * The k-diffusion samplers (Karras et al. 2022): the sample lives at noise level σ (variance
 * exploding), the model sees it scaled by 1/sqrt(σ²+1), and each step follows the ODE derivative
 * {@code d = (x − x̂₀)/σ}. Euler, Euler ancestral, Heun, LMS and KDPM2 differ only in how they step.
 */
abstract class SigmaSampler extends BaseScheduler {

    protected final TimestepSpacing spacing;
    protected final int stepsOffset;
    protected final PredictionType predictionType;
    protected final boolean karras;
    private final double[] coefficients = new double[2];

    /** @param sampleSupported whether the class (like its diffusers namesake) takes prediction_type=sample */
    SigmaSampler(String name, SchedulerConfig config, TrainingSchedule train, boolean sampleSupported) {
        super(config, train);
        this.spacing = Schedulers.spacing(config, name, "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);
        this.predictionType = sampleSupported ? PredictionType.fromConfig(config, name)
                : PredictionType.fromConfigWithoutSample(config, name);
        this.karras = config.getBoolean("use_karras_sigmas", false);
    }

    /**
     * diffusers' {@code init_noise_sigma}: σ_max for linspace and trailing spacing, sqrt(σ_max² + 1)
     * for leading (whose first timestep is below T − 1).
     */
    @Override
    public double initNoiseSigma() {
        float max = 0;
        for (float s : sigmas) {
            max = Math.max(max, s);
        }
        if (spacing == TimestepSpacing.LINSPACE || spacing == TimestepSpacing.TRAILING) {
            return max;
        }
        return (float) Math.sqrt(max * max + 1f);
    }

    /** {@code scale_model_input}: 1/sqrt(σ²+1) at the evaluation's σ. */
    @Override
    public double inputScale(int index) {
        return unitVarianceScale(sigmas[index]);
    }

    static double unitVarianceScale(float sigma) {
        return 1.0 / (float) Math.sqrt(sigma * sigma + 1f);
    }

    /** {@code add_noise}: x₀ + σ·ε at the evaluation's σ. */
    @Override
    public void addNoise(Tensor original, Tensor noise, int index, Tensor out) {
        ops.axpby(out, 1f, original, sigmas[index], noise);
    }

    /**
     * {@code dst = x + dt·(x − x̂₀)/σ_div}, x̂₀ from the model output at {@code sigmaIn}: one Euler
     * step along the ODE derivative, as a combination of sample and model output.
     */
    protected final void eulerStep(Tensor dst, Tensor sample, Tensor modelOutput, double sigmaIn, double sigmaDiv,
                                   double dt) {
        derivative(sigmaIn, sigmaDiv, coefficients);
        ops.axpby(dst, (float) (1 + dt * coefficients[0]), sample, (float) (dt * coefficients[1]), modelOutput);
    }

    /** The derivative (x − x̂₀)/σ_div as {@code a·x + b·output} into {@code ab}. */
    protected final void derivative(double sigmaIn, double sigmaDiv, double[] ab) {
        Predictions.x0FromSigma(predictionType, sigmaIn, ab);
        double cx = ab[0];
        double cm = ab[1];
        ab[0] = (1 - cx) / sigmaDiv;
        ab[1] = -cm / sigmaDiv;
    }
}
