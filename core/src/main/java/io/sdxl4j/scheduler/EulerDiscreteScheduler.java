// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.util.Arrays;

/**
 * The Euler method on the probability-flow ODE in σ (Karras et al. 2022, Algorithm 2 with
 * S_churn = 0), diffusers' {@code EulerDiscreteScheduler}: SDXL base's default sampler.
 *
 * <p>Config options: {@code timestep_spacing} (linspace, leading, trailing), {@code steps_offset},
 * {@code prediction_type} (epsilon, v_prediction, sample), {@code interpolation_type} (linear,
 * log_linear), {@code use_karras_sigmas} with {@code sigma_min}/{@code sigma_max},
 * {@code timestep_type} (discrete, continuous), {@code final_sigmas_type} (zero, sigma_min), and
 * the beta options of {@link NoiseSchedules#betas}. Like diffusers, each step draws (and, with
 * S_churn = 0, ignores) one noise tensor of the latents' size.
 */
public final class EulerDiscreteScheduler implements Scheduler {

    static final String NAME = "EulerDiscreteScheduler";

    private final TimestepSpacing spacing;
    private final int numTrainTimesteps;
    private final int stepsOffset;
    private final PredictionType predictionType;
    private final boolean logLinear;
    private final boolean karras;
    private final Double sigmaMin;
    private final Double sigmaMax;
    private final boolean continuousTimesteps;
    private final boolean finalSigmaMin;
    private final float[] alphasCumprod;
    private final float[] trainSigmas;
    private final float[] logSigmas;

    private int numInferenceSteps;
    private double[] timesteps = new double[0];
    private float[] sigmas = new float[0];
    private TensorOps ops;
    private int latentElements;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        config.requireFalse(NAME, "use_exponential_sigmas");
        config.requireFalse(NAME, "use_beta_sigmas");
        this.spacing = TimestepSpacing.fromConfig(config, NAME, "linspace");
        this.numTrainTimesteps = config.getInt("num_train_timesteps", 1000);
        this.stepsOffset = config.getInt("steps_offset", 0);
        this.predictionType = PredictionType.fromConfig(config, NAME);
        String interpolation = config.getString("interpolation_type", "linear");
        config.requireOneOf(NAME, "interpolation_type", interpolation, "linear", "log_linear");
        this.logLinear = interpolation.equals("log_linear");
        this.karras = config.getBoolean("use_karras_sigmas", false);
        this.sigmaMin = config.getOptionalDouble("sigma_min").orElse(null);
        this.sigmaMax = config.getOptionalDouble("sigma_max").orElse(null);
        String timestepType = config.getString("timestep_type", "discrete");
        config.requireOneOf(NAME, "timestep_type", timestepType, "discrete", "continuous");
        this.continuousTimesteps = timestepType.equals("continuous") && predictionType == PredictionType.V_PREDICTION;
        String finalSigmas = config.getString("final_sigmas_type", "zero");
        config.requireOneOf(NAME, "final_sigmas_type", finalSigmas, "zero", "sigma_min");
        this.finalSigmaMin = finalSigmas.equals("sigma_min");

        this.alphasCumprod = NoiseSchedules.alphasCumprod(NoiseSchedules.betas(config));
        if (config.getBoolean("rescale_betas_zero_snr", false)) {
            // diffusers sets the last ᾱ to 2^-24 so that its σ stays finite.
            alphasCumprod[alphasCumprod.length - 1] = 0x1.0p-24f;
        }
        this.trainSigmas = NoiseSchedules.trainSigmas(alphasCumprod);
        this.logSigmas = NoiseSchedules.log(trainSigmas);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void setTimesteps(int steps) {
        if (steps < 1 || steps > numTrainTimesteps) {
            throw new IllegalArgumentException("steps: " + steps + " is outside [1, " + numTrainTimesteps + "]");
        }
        this.numInferenceSteps = steps;
        double[] t = NoiseSchedules.sigmaTimesteps(spacing, numTrainTimesteps, steps, stepsOffset);
        double[] s;
        if (logLinear) {
            float[] lin = NoiseSchedules.torchLinspace((float) Math.log(trainSigmas[trainSigmas.length - 1]),
                    (float) Math.log(trainSigmas[0]), steps + 1);
            s = new double[lin.length];
            for (int i = 0; i < lin.length; i++) {
                s[i] = (float) Math.exp(lin[i]);
            }
        } else {
            s = NoiseSchedules.interpolate(t, trainSigmas);
        }
        if (karras) {
            double lo = sigmaMin != null ? sigmaMin : s[s.length - 1];
            double hi = sigmaMax != null ? sigmaMax : s[0];
            s = NoiseSchedules.karrasSigmas(lo, hi, steps);
            t = new double[s.length];
            for (int i = 0; i < s.length; i++) {
                t[i] = NoiseSchedules.sigmaToT(s[i], logSigmas);
            }
        }
        float last = finalSigmaMin
                ? (float) Math.sqrt((1f - alphasCumprod[0]) / alphasCumprod[0]) : 0f;
        sigmas = new float[s.length + 1];
        for (int i = 0; i < s.length; i++) {
            sigmas[i] = (float) s[i];
        }
        sigmas[s.length] = last;
        timesteps = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            timesteps[i] = continuousTimesteps ? (float) (0.25 * Math.log(sigmas[i])) : (float) t[i];
        }
    }

    @Override
    public int numInferenceSteps() {
        return numInferenceSteps;
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public double[] sigmas() {
        double[] out = new double[sigmas.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = sigmas[i];
        }
        return out;
    }

    @Override
    public int evaluationCount() {
        return timesteps.length;
    }

    @Override
    public double timestep(int index) {
        return timesteps[index];
    }

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

    @Override
    public double inputScale(int index) {
        float sigma = sigmas[index];
        return 1.0 / (float) Math.sqrt(sigma * sigma + 1f);
    }

    @Override
    public void begin(TensorOps tensorOps, long[] latentShape) {
        this.ops = tensorOps;
        long n = 1;
        for (long d : latentShape) {
            n *= d;
        }
        this.latentElements = Math.toIntExact(n);
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        // diffusers draws ε for the churn step even when S_churn = 0 leaves it unused.
        noise.skipRandn(latentElements);
        float sigma = sigmas[index];
        float dt = sigmas[index + 1] - sigma;
        // x_next = x + (x - x̂₀)/σ · dt, with x̂₀ from the model's parameterisation.
        switch (predictionType) {
            case EPSILON -> ops.axpby(sample, 1f, sample, dt, modelOutput);
            case V_PREDICTION -> {
                double s2 = (double) sigma * sigma;
                double cSkip = 1 / (s2 + 1);
                double cOut = -sigma / Math.sqrt(s2 + 1);
                double k = dt / (double) sigma;
                ops.axpby(sample, (float) (1 + k * (1 - cSkip)), sample, (float) (-k * cOut), modelOutput);
            }
            case SAMPLE -> {
                double k = dt / (double) sigma;
                ops.axpby(sample, (float) (1 + k), sample, (float) -k, modelOutput);
            }
        }
    }

    @Override
    public void addNoise(Tensor original, Tensor noiseTensor, int index, Tensor out) {
        ops.axpby(out, 1f, original, sigmas[index], noiseTensor);
    }

    @Override
    public void close() {
        // No scratch tensors.
    }

    @Override
    public String toString() {
        return NAME + "[spacing=" + spacing + ", karras=" + karras + ", sigmas=" + Arrays.toString(sigmas) + "]";
    }
}
