// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.SdxlException;

/**
 * The noise-schedule math every scheduler shares, once: betas, ᾱ (alphas_cumprod), the sigmas of
 * the variance-exploding view σ = sqrt((1-ᾱ)/ᾱ), timestep spacing, interpolation, and the Karras
 * et al. 2022 schedule. Each function reproduces diffusers' arithmetic, including its float32
 * steps (torch tensors) and float64 steps (NumPy), so that timesteps and sigmas agree with
 * diffusers' to float precision.
 */
final class NoiseSchedules {

    private NoiseSchedules() {
    }

    /**
     * The training betas of a config, as diffusers builds them (float32 tensors): {@code trained_betas}
     * if given, else {@code beta_schedule} from {@code beta_start} to {@code beta_end}, with the
     * scheduler class's defaults for missing keys.
     */
    static float[] betas(SchedulerConfig config, BetaDefaults defaults) {
        int n = config.getInt("num_train_timesteps", 1000);
        if (n < 2) {
            throw new SdxlException(config.source() + ": num_train_timesteps " + n + " is below 2");
        }
        double[] trained = config.getDoubles("trained_betas");
        if (trained != null && trained.length > 0) {
            float[] betas = new float[trained.length];
            for (int i = 0; i < trained.length; i++) {
                betas[i] = (float) trained[i];
            }
            return betas;
        }
        double start = config.getDouble("beta_start", defaults.betaStart());
        double end = config.getDouble("beta_end", defaults.betaEnd());
        String schedule = config.getString("beta_schedule", defaults.betaSchedule());
        config.requireOneOf("the noise schedule", "beta_schedule", schedule,
                "linear", "scaled_linear", "squaredcos_cap_v2");
        return switch (schedule) {
            case "linear" -> torchLinspace((float) start, (float) end, n);
            case "scaled_linear" -> {
                // Latent diffusion's schedule: linear in sqrt(beta).
                float[] b = torchLinspace((float) Math.sqrt(start), (float) Math.sqrt(end), n);
                for (int i = 0; i < n; i++) {
                    b[i] = b[i] * b[i];
                }
                yield b;
            }
            default -> cosineBetas(n);
        };
    }

    /** ᾱ_t = Π(1 - β_i), accumulated in double as torch's CPU cumprod does, stored as float. */
    public static float[] alphasCumprod(float[] betas) {
        float[] out = new float[betas.length];
        double acc = 1.0;
        for (int i = 0; i < betas.length; i++) {
            acc *= (1f - betas[i]);
            out[i] = (float) acc;
        }
        return out;
    }

    /** σ_t = sqrt((1 - ᾱ_t) / ᾱ_t), in float32. */
    public static float[] trainSigmas(float[] alphasCumprod) {
        float[] out = new float[alphasCumprod.length];
        for (int i = 0; i < out.length; i++) {
            float a = alphasCumprod[i];
            out[i] = (float) Math.sqrt((1f - a) / a);
        }
        return out;
    }

    /** Element-wise natural log in float32 ({@code np.log} of a float32 array). */
    public static float[] log(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) Math.log(x[i]);
        }
        return out;
    }

    /**
     * Rescales betas to a zero terminal SNR (Lin et al. 2023, Algorithm 1), diffusers'
     * {@code rescale_zero_terminal_snr}.
     */
    public static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] cumprod = alphasCumprod(betas);
        float[] sqrt = new float[n];
        for (int i = 0; i < n; i++) {
            sqrt[i] = (float) Math.sqrt(cumprod[i]);
        }
        float first = sqrt[0];
        float last = sqrt[n - 1];
        float factor = first / (first - last);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float shifted = (sqrt[i] - last) * factor;
            bar[i] = shifted * shifted;
        }
        float[] out = new float[n];
        out[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) {
            out[i] = 1f - bar[i] / bar[i - 1];
        }
        return out;
    }

    /**
     * The continuous timesteps of the sigma-based (k-diffusion style) schedulers, diffusers'
     * {@code EulerDiscreteScheduler.set_timesteps}: linspace is left fractional, leading adds
     * {@code steps_offset}, trailing subtracts one; float32 values, highest first.
     */
    public static double[] sigmaTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset) {
        double[] t = new double[steps];
        switch (spacing) {
            case LINSPACE -> {
                double[] lin = numpyLinspace(0, numTrain - 1, steps);
                for (int i = 0; i < steps; i++) {
                    t[i] = (float) lin[steps - 1 - i];
                }
            }
            case LEADING -> {
                int ratio = numTrain / steps;
                for (int i = 0; i < steps; i++) {
                    t[i] = (float) ((long) (steps - 1 - i) * ratio) + stepsOffset;
                }
            }
            case TRAILING -> {
                double[] down = numpyArange(numTrain, 0, -(double) numTrain / steps);
                if (down.length != steps) {
                    t = new double[down.length];
                }
                for (int i = 0; i < down.length; i++) {
                    t[i] = (float) Math.rint(down[i]) - 1;
                }
            }
        }
        return t;
    }

    /**
     * The integer timesteps of the alpha-based schedulers (DDIM, DDPM): linspace rounded, leading
     * multiples of T/n plus {@code steps_offset}, trailing multiples counted down from T minus one;
     * highest first.
     */
    public static long[] integerTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset) {
        return switch (spacing) {
            case LINSPACE -> reversedRounded(numpyLinspace(0, numTrain - 1, steps), steps);
            case LEADING -> {
                long[] t = new long[steps];
                int ratio = numTrain / steps;
                for (int i = 0; i < steps; i++) {
                    t[i] = (long) (steps - 1 - i) * ratio + stepsOffset;
                }
                yield t;
            }
            case TRAILING -> trailing(numTrain, numTrain, steps);
        };
    }

    /**
     * The integer timesteps of DPM-Solver and UniPC, which space n + 1 points and drop the last
     * (so that the schedule never reaches t = 0): linspace over [0, last - 1], leading multiples of
     * {@code last // (n + 1)} plus {@code steps_offset}, trailing as {@link #integerTimesteps}.
     * {@code last} is the training length, or less when {@code lambda_min_clipped} cuts the end.
     */
    public static long[] solverTimesteps(TimestepSpacing spacing, int last, int numTrain, int steps, int stepsOffset) {
        return switch (spacing) {
            case LINSPACE -> reversedRounded(numpyLinspace(0, last - 1, steps + 1), steps);
            case LEADING -> {
                long[] t = new long[steps];
                int ratio = last / (steps + 1);
                for (int i = 0; i < steps; i++) {
                    t[i] = (long) (steps - i) * ratio + stepsOffset;
                }
                yield t;
            }
            case TRAILING -> trailing(last, numTrain, steps);
        };
    }

    // np.arange(from, 0, -numTrain / steps).round() - 1
    private static long[] trailing(int from, int numTrain, int steps) {
        double[] down = numpyArange(from, 0, -(double) numTrain / steps);
        long[] t = new long[down.length];
        for (int i = 0; i < down.length; i++) {
            t[i] = (long) Math.rint(down[i]) - 1;
        }
        return t;
    }

    // values[::-1][:count] rounded half to even, as np.round does.
    private static long[] reversedRounded(double[] values, int count) {
        long[] t = new long[count];
        for (int i = 0; i < count; i++) {
            t[i] = (long) Math.rint(values[values.length - 1 - i]);
        }
        return t;
    }

    /**
     * {@code np.interp(x, arange(len(fp)), fp)}: piecewise-linear interpolation of {@code fp} at
     * the (fractional) indices {@code x}, clamped at both ends, in double precision.
     */
    public static double[] interpolate(double[] x, float[] fp) {
        double[] out = new double[x.length];
        int last = fp.length - 1;
        for (int i = 0; i < x.length; i++) {
            double xi = x[i];
            if (xi <= 0) {
                out[i] = fp[0];
            } else if (xi >= last) {
                out[i] = fp[last];
            } else {
                int j = (int) Math.floor(xi);
                if (j == xi) {
                    out[i] = fp[j];
                } else {
                    double slope = (double) fp[j + 1] - fp[j];
                    out[i] = slope * (xi - j) + fp[j];
                }
            }
        }
        return out;
    }

    /**
     * The schedule of Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based
     * Generative Models", eq. 5 with ρ = 7: {@code (σmax^(1/ρ) + i/(n-1)·(σmin^(1/ρ) - σmax^(1/ρ)))^ρ}.
     */
    public static double[] karrasSigmas(double sigmaMin, double sigmaMax, int n) {
        double rho = 7.0;
        double[] ramp = numpyLinspace(0, 1, n);
        double minInvRho = Math.pow(sigmaMin, 1 / rho);
        double maxInvRho = Math.pow(sigmaMax, 1 / rho);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
        }
        return out;
    }

    /**
     * The fractional training timestep whose sigma is {@code sigma}, by linear interpolation in
     * log-sigma (diffusers' {@code _sigma_to_t}).
     */
    public static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) {
                low = i;
            }
        }
        low = Math.min(low, logSigmas.length - 2);
        double lo = logSigmas[low];
        double hi = logSigmas[low + 1];
        double w = (lo - logSigma) / (lo - hi);
        w = Math.min(Math.max(w, 0), 1);
        return (1 - w) * low + w * (low + 1);
    }

    /** {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU. */
    public static float[] torchLinspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
        }
        return out;
    }

    /** {@code np.linspace(start, stop, num)} in double precision, endpoint included. */
    public static double[] numpyLinspace(double start, double stop, int num) {
        double[] out = new double[num];
        if (num == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) {
            out[i] = start + i * step;
        }
        out[num - 1] = stop;
        return out;
    }

    /**
     * {@code np.arange(start, stop, step)} in double precision; like NumPy's fill, the values
     * after the first are {@code start + i·δ} with {@code δ = (start + step) - start}.
     */
    public static double[] numpyArange(double start, double stop, double step) {
        int n = (int) Math.max(0, Math.ceil((stop - start) / step));
        double[] out = new double[n];
        double delta = (start + step) - start;
        for (int i = 0; i < n; i++) {
            out[i] = start + i * delta;
        }
        return out;
    }

    // Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic Models", eq. 17 (max β 0.999).
    private static float[] cosineBetas(int n) {
        float[] betas = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            betas[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return betas;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }
}
