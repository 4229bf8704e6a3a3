// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.SdxlException;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++", Algorithm 2; orders 1–3) and its SDE
 * variant (§4, "DPM++ 2M SDE"), diffusers' {@code DPMSolverMultistepScheduler}: "DPM++ 2M" and,
 * with {@code use_karras_sigmas}, "DPM++ 2M Karras". Each step converts the model output to x̂₀,
 * keeps the last {@code solver_order} of them, and extrapolates in log-SNR λ.
 *
 * <p>Options: {@code solver_order} (1–3), {@code algorithm_type} (dpmsolver++, sde-dpmsolver++;
 * deis as dpmsolver++ like diffusers), {@code solver_type} (midpoint, heun), {@code lower_order_final},
 * {@code euler_at_final}, {@code use_karras_sigmas}, {@code use_lu_lambdas}, {@code final_sigmas_type}
 * (zero, sigma_min), {@code lambda_min_clipped}, {@code timestep_spacing}, {@code steps_offset},
 * {@code prediction_type}, {@code rescale_betas_zero_snr}, the betas. The deprecated first-generation
 * {@code dpmsolver}/{@code sde-dpmsolver}, {@code thresholding} and learned variances are refused.
 */
final class DPMSolverMultistepScheduler extends SolverScheduler {

    static final String NAME = "DPMSolverMultistepScheduler";

    private final boolean sde;
    private final boolean heun;
    private final boolean lowerOrderFinal;
    private final boolean eulerAtFinal;
    private final boolean karras;
    private final boolean luLambdas;
    private final boolean finalSigmaZero;
    private final double lambdaMinClipped;
    private final TimestepSpacing spacing;
    private final int stepsOffset;
    private final float[] weights = new float[5];
    private final Tensor[] terms = new Tensor[5];
    private final double[] historyWeights = new double[3];
    private int lowerOrderNums;

    public DPMSolverMultistepScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, true, true), 0);
        String algorithm = config.getString("algorithm_type", "dpmsolver++");
        config.requireOneOf(NAME, "algorithm_type", algorithm, "dpmsolver++", "sde-dpmsolver++", "deis");
        this.sde = algorithm.equals("sde-dpmsolver++");
        if (sde && solverOrder == 3) {
            throw new SdxlException(config.source() + ": " + NAME + " has no third-order sde-dpmsolver++ update"
                    + " (diffusers has none either); use solver_order 1 or 2");
        }
        String solverType = config.getString("solver_type", "midpoint");
        config.requireOneOf(NAME, "solver_type", solverType, "midpoint", "heun", "logrho", "bh1", "bh2");
        this.heun = solverType.equals("heun");
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        this.eulerAtFinal = config.getBoolean("euler_at_final", false);
        this.karras = config.getBoolean("use_karras_sigmas", false);
        this.luLambdas = config.getBoolean("use_lu_lambdas", false);
        String finalSigmas = config.getString("final_sigmas_type", "zero");
        config.requireOneOf(NAME, "final_sigmas_type", finalSigmas, "zero", "sigma_min");
        this.finalSigmaZero = finalSigmas.equals("zero");
        this.lambdaMinClipped = config.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        this.spacing = Schedulers.spacing(config, NAME, "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int extraScratch() {
        return 1; // the SDE noise
    }

    @Override
    protected void reset() {
        super.reset();
        lowerOrderNums = 0;
    }

    @Override
    protected void schedule(int steps) {
        int last = SolverMath.lastTimestep(train, lambdaMinClipped);
        long[] t = NoiseSchedules.solverTimesteps(spacing, last, train.numTrainTimesteps, steps, stepsOffset);
        SigmaSchedule s;
        if (luLambdas) {
            s = luLambdaSchedule(steps);
        } else {
            s = SigmaSchedule.solver(train, t, karras, steps);
        }
        s = s.withFinalSigma(finalSigmaZero ? 0f : train.sigmaMin());
        sigmas = s.sigmas();
        timesteps = s.timesteps();
    }

    // Lu et al. 2022's uniform-λ schedule ("use_lu_lambdas"): log σ evenly spaced from the training
    // schedule's largest to its smallest, timesteps mapped back and rounded.
    private SigmaSchedule luLambdaSchedule(int steps) {
        float[] logSigmas = train.logSigmas;
        double high = logSigmas[logSigmas.length - 1];
        double low = logSigmas[0];
        double[] ramp = NoiseSchedules.numpyLinspace(0, 1, steps);
        double[] t = new double[steps];
        float[] s = new float[steps + 1];
        for (int i = 0; i < steps; i++) {
            double sigma = Math.exp(high + ramp[i] * (low - high));
            s[i] = (float) sigma;
            t[i] = Math.rint(NoiseSchedules.sigmaToT(sigma, logSigmas));
        }
        return new SigmaSchedule(t, s);
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        int n = timesteps.length;
        boolean finalLowOrder = index == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalSigmaZero);
        boolean secondLowOrder = index == n - 2 && lowerOrderFinal && n < 15;
        // x̂₀ from the model output (DPM-Solver++ works on the data prediction).
        dataPrediction(nextSlot(), sample, modelOutput, sigmas[index]);
        push();
        Tensor eps = extra(0);
        if (sde) {
            ops.randn(eps, noise);
        }
        int order;
        if (solverOrder == 1 || lowerOrderNums < 1 || finalLowOrder) {
            order = 1;
        } else if (solverOrder == 2 || lowerOrderNums < 2 || secondLowOrder) {
            order = 2;
        } else {
            order = 3;
        }
        update(order, index, sample, eps);
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
    }

    private void update(int order, int i, Tensor sample, Tensor eps) {
        double sigmaNext = sigmas[i + 1];
        double alphaT = SolverMath.alpha(sigmaNext);
        double sigmaT = SolverMath.sigmaT(sigmaNext);
        double lambdaT = SolverMath.lambda(sigmaNext);
        double sigmaS0 = SolverMath.sigmaT(sigmas[i]);
        double lambdaS0 = SolverMath.lambda(sigmas[i]);
        double h = lambdaT - lambdaS0;
        double emh = Math.exp(-h);
        // Coefficients of the x̂₀ history m0 (newest), m1, m2.
        double[] m = historyWeights;
        java.util.Arrays.fill(m, 0);
        double cx;
        double cNoise = 0;
        if (sde) {
            double e2 = Math.exp(-2.0 * h);
            cx = sigmaT / sigmaS0 * emh;
            m[0] = alphaT * (1 - e2);
            if (order == 2) {
                double r0 = (lambdaS0 - SolverMath.lambda(sigmas[i - 1])) / h;
                double d1 = heun ? alphaT * ((1.0 - e2) / (-2.0 * h) + 1.0) : 0.5 * alphaT * (1 - e2);
                m[0] += d1 / r0;
                m[1] -= d1 / r0;
            }
            cNoise = sigmaT * Math.sqrt(1.0 - e2);
        } else {
            cx = sigmaT / sigmaS0;
            double base = -alphaT * (emh - 1.0);
            m[0] = base;
            if (order == 2) {
                double r0 = (lambdaS0 - SolverMath.lambda(sigmas[i - 1])) / h;
                double d1 = heun ? alphaT * ((emh - 1.0) / h + 1.0) : 0.5 * base;
                m[0] += d1 / r0;
                m[1] -= d1 / r0;
            } else if (order == 3) {
                double lambdaS1 = SolverMath.lambda(sigmas[i - 1]);
                double lambdaS2 = SolverMath.lambda(sigmas[i - 2]);
                double r0 = (lambdaS0 - lambdaS1) / h;
                double r1 = (lambdaS1 - lambdaS2) / h;
                // D1_0 = (m0 − m1)/r0, D1_1 = (m1 − m2)/r1, D1 = D1_0 + r0/(r0+r1)·(D1_0 − D1_1),
                // D2 = (D1_0 − D1_1)/(r0 + r1); each as weights of m0, m1, m2.
                double c1 = alphaT * ((emh - 1.0) / h + 1.0);
                double c2 = -alphaT * ((emh - 1.0 + h) / (h * h) - 0.5);
                for (int k = 0; k < 3; k++) {
                    double d10 = k == 0 ? 1 / r0 : k == 1 ? -1 / r0 : 0;
                    double d11 = k == 0 ? 0 : k == 1 ? 1 / r1 : -1 / r1;
                    double diff = d10 - d11;
                    double d1 = d10 + r0 / (r0 + r1) * diff;
                    double d2 = diff / (r0 + r1);
                    m[k] += c1 * d1 + c2 * d2;
                }
            }
        }
        weights[0] = (float) cx;
        terms[0] = sample;
        int count = 1;
        for (int k = 0; k < order; k++) {
            weights[count] = (float) m[k];
            terms[count++] = history(k);
        }
        if (sde) {
            weights[count] = (float) cNoise;
            terms[count++] = eps;
        }
        ops.linearCombination(sample, weights, terms, count);
    }
}
