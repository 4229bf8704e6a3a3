// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.SdxlException;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;
import java.util.HashSet;
import java.util.Set;

/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework"), diffusers'
 * {@code UniPCMultistepScheduler}: each step first corrects the current sample with the new model
 * output (UniC, Algorithm 2) and then predicts the next one (UniP, Algorithm 1), both from the
 * multistep history in log-SNR, with the B(h) of variant bh1 or bh2.
 *
 * <p>Options: {@code solver_order} (1–3), {@code solver_type} (bh1, bh2), {@code predict_x0},
 * {@code lower_order_final}, {@code disable_corrector}, {@code use_karras_sigmas},
 * {@code timestep_spacing}, {@code steps_offset}, {@code prediction_type}, the betas. As in
 * diffusers 0.27 the final σ is σ_min (the repeated last Karras σ), not 0.
 */
final class UniPCMultistepScheduler extends SolverScheduler {

    static final String NAME = "UniPCMultistepScheduler";

    private final boolean bh1;
    private final boolean predictX0;
    private final boolean lowerOrderFinal;
    private final Set<Integer> disableCorrector = new HashSet<>();
    private final boolean karras;
    private final TimestepSpacing spacing;
    private final int stepsOffset;
    private final float[] weights = new float[6];
    private final Tensor[] terms = new Tensor[6];
    private final double[] historyWeights = new double[4];
    // One update's scalars, reused: r_k, the system R·ρ = b and its work space, h_φ₁, B(h).
    private final double[] rks = new double[3];
    private final double[] rhos = new double[3];
    private final double[][] r = new double[3][3];
    private final double[] b = new double[3];
    private final double[][] work = new double[3][4];
    private double hPhi1;
    private double bh;
    private int lowerOrderNums;
    private int thisOrder;
    private boolean hasLastSample;

    public UniPCMultistepScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, false, false), 1);
        String solverType = config.getString("solver_type", "bh2");
        config.requireOneOf(NAME, "solver_type", solverType, "bh1", "bh2", "midpoint", "heun", "logrho");
        this.bh1 = solverType.equals("bh1");
        this.predictX0 = config.getBoolean("predict_x0", true);
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        double[] disabled = config.getDoubles("disable_corrector");
        if (disabled != null) {
            for (double d : disabled) {
                disableCorrector.add((int) d);
            }
        }
        if (config.has("solver_p")) {
            throw new SdxlException(config.source() + ": " + NAME + " does not support solver_p");
        }
        this.karras = config.getBoolean("use_karras_sigmas", false);
        this.spacing = Schedulers.spacing(config, NAME, "linspace");
        this.stepsOffset = config.getInt("steps_offset", 0);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int extraScratch() {
        return 1; // the last sample, for the corrector
    }

    @Override
    protected void reset() {
        super.reset();
        lowerOrderNums = 0;
        thisOrder = 0;
        hasLastSample = false;
    }

    @Override
    protected void schedule(int steps) {
        long[] t = NoiseSchedules.solverTimesteps(spacing, train.numTrainTimesteps, train.numTrainTimesteps, steps,
                stepsOffset);
        SigmaSchedule s = SigmaSchedule.solver(train, t, karras, steps);
        float[] sig = s.sigmas();
        s = s.withFinalSigma(karras ? sig[sig.length - 2] : train.sigmaMin());
        sigmas = s.sigmas();
        timesteps = s.timesteps();
    }

    private Tensor lastSample() {
        return extra(0);
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        boolean useCorrector = index > 0 && !disableCorrector.contains(index - 1) && hasLastSample;
        // The converted output (x̂₀, or ε̂ when predict_x0 is off) goes into a fresh history slot, so
        // that the corrector still sees the previous outputs.
        Tensor converted = nextSlot();
        if (predictX0) {
            dataPrediction(converted, sample, modelOutput, sigmas[index]);
        } else {
            double sigma = sigmas[index];
            Predictions.epsilonFromAlpha(predictionType, SolverMath.alpha(sigma), SolverMath.sigmaT(sigma),
                    coefficients);
            ops.axpby(converted, (float) coefficients[0], sample, (float) coefficients[1], modelOutput);
        }
        if (useCorrector) {
            correct(index, sample, converted);
        }
        push();
        int order = lowerOrderFinal ? Math.min(solverOrder, timesteps.length - index) : solverOrder;
        thisOrder = Math.min(order, lowerOrderNums + 1);
        ops.copy(lastSample(), sample);
        hasLastSample = true;
        predict(index, sample);
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
    }

    // UniP (Algorithm 1, B(h) variant): x_t from the sample at s0 and the history m0, m1, …
    private void predict(int i, Tensor sample) {
        int p = thisOrder;
        double sigmaNext = sigmas[i + 1];
        double lambdaS0 = SolverMath.lambda(sigmas[i]);
        double h = SolverMath.lambda(sigmaNext) - lambdaS0;
        for (int k = 1; k < p; k++) {
            rks[k - 1] = (SolverMath.lambda(sigmas[i - k]) - lambdaS0) / h;
        }
        rks[p - 1] = 1.0;
        phi(h, p);
        // ρ: none at order 1, ½ at order 2, else R[:-1, :-1]·ρ = b[:-1].
        if (p == 2) {
            rhos[0] = 0.5;
        } else if (p > 2) {
            SolverMath.solve(r, b, p - 1, rhos, work);
        }
        java.util.Arrays.fill(historyWeights, 0);
        // res = Σ ρ_k·D1_k with D1_k = (m_k − m0)/r_k
        for (int k = 1; k < p; k++) {
            double w = rhos[k - 1] / rks[k - 1];
            historyWeights[k] += w;
            historyWeights[0] -= w;
        }
        combine(sample, sample, sigmaNext, sigmas[i], historyWeights, p, null, 0);
    }

    // UniC (Algorithm 2): corrects the sample at t_i with the model output there.
    private void correct(int i, Tensor sample, Tensor converted) {
        int p = thisOrder;
        double lambdaS0 = SolverMath.lambda(sigmas[i - 1]);
        double h = SolverMath.lambda(sigmas[i]) - lambdaS0;
        for (int k = 1; k < p; k++) {
            rks[k - 1] = (SolverMath.lambda(sigmas[i - (k + 1)]) - lambdaS0) / h;
        }
        rks[p - 1] = 1.0;
        phi(h, p);
        if (p == 1) {
            rhos[0] = 0.5;
        } else {
            SolverMath.solve(r, b, p, rhos, work);
        }
        java.util.Arrays.fill(historyWeights, 0);
        for (int k = 1; k < p; k++) {
            double w = rhos[k - 1] / rks[k - 1];
            historyWeights[k] += w;
            historyWeights[0] -= w;
        }
        // D1_t = model_t − m0, weighted by the last ρ.
        double last = rhos[p - 1];
        historyWeights[0] -= last;
        combine(sample, lastSample(), sigmas[i], sigmas[i - 1], historyWeights, p, converted, last);
    }

    /** h_φ₁ = expm1(hh), B(h), and the system R_{ik} = r_k^(i−1), b_i = h_φ_i·i!/B(h) of one update. */
    private void phi(double h, int p) {
        double hh = predictX0 ? -h : h;
        hPhi1 = Math.expm1(hh);
        double hPhiK = hPhi1 / hh - 1;
        double factorial = 1;
        bh = bh1 ? hh : Math.expm1(hh);
        for (int i = 1; i <= p; i++) {
            for (int k = 0; k < p; k++) {
                r[i - 1][k] = Math.pow(rks[k], i - 1);
            }
            b[i - 1] = hPhiK * factorial / bh;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }
    }

    /**
     * {@code dst = c·x − ν·h_φ₁·m0 − ν·B(h)·(Σ_k w_k·m_k + wt·model_t)}, with (c, ν) = (σ_t/σ_s0, α_t)
     * for data prediction and (α_t/α_s0, σ_t) for noise prediction.
     */
    private void combine(Tensor dst, Tensor x, double sigmaTo, double sigmaFrom, double[] w, int p, Tensor modelT,
                         double wt) {
        double c;
        double nu;
        if (predictX0) {
            c = SolverMath.sigmaT(sigmaTo) / SolverMath.sigmaT(sigmaFrom);
            nu = SolverMath.alpha(sigmaTo);
        } else {
            c = SolverMath.alpha(sigmaTo) / SolverMath.alpha(sigmaFrom);
            nu = SolverMath.sigmaT(sigmaTo);
        }
        weights[0] = (float) c;
        terms[0] = x;
        int n = 1;
        for (int k = 0; k < Math.max(p, 1); k++) {
            double weight = -nu * bh * w[k] - (k == 0 ? nu * hPhi1 : 0);
            weights[n] = (float) weight;
            terms[n++] = history(k);
        }
        if (modelT != null) {
            weights[n] = (float) (-nu * bh * wt);
            terms[n++] = modelT;
        }
        ops.linearCombination(dst, weights, terms, n);
    }
}
