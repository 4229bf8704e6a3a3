// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Singlestep DPM-Solver++ (Lu et al. 2022, Algorithm 1; "DPM++ 2S"), diffusers'
 * {@code DPMSolverSinglestepScheduler}: the schedule is cut into blocks of 1, 2 or 3 evaluations
 * ({@code get_order_list}); each block starts from the sample at its first evaluation and ends with
 * an update of the block's order from the x̂₀ of its evaluations.
 *
 * <p>Options: {@code solver_order} (1–3), {@code solver_type} (midpoint, heun), {@code lower_order_final}
 * (forced on, as diffusers does, when the steps do not divide by the order or the final σ is 0),
 * {@code use_karras_sigmas}, {@code final_sigmas_type}, {@code lambda_min_clipped},
 * {@code prediction_type}, the betas. Timesteps are always linspace (the class has no
 * {@code timestep_spacing} in diffusers 0.27).
 */
final class DPMSolverSinglestepScheduler extends SolverScheduler {

    static final String NAME = "DPMSolverSinglestepScheduler";

    private final boolean heun;
    private final boolean karras;
    private final boolean finalSigmaZero;
    private final double lambdaMinClipped;
    private boolean lowerOrderFinal;
    private int[] orders = new int[0];
    private final float[] weights = new float[4];
    private final Tensor[] terms = new Tensor[4];

    public DPMSolverSinglestepScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, false, false), 0);
        String algorithm = config.getString("algorithm_type", "dpmsolver++");
        config.requireOneOf(NAME, "algorithm_type", algorithm, "dpmsolver++");
        String solverType = config.getString("solver_type", "midpoint");
        config.requireOneOf(NAME, "solver_type", solverType, "midpoint", "heun", "logrho", "bh1", "bh2");
        this.heun = solverType.equals("heun");
        this.lowerOrderFinal = config.getBoolean("lower_order_final", false);
        this.karras = config.getBoolean("use_karras_sigmas", false);
        String finalSigmas = config.getString("final_sigmas_type", "zero");
        config.requireOneOf(NAME, "final_sigmas_type", finalSigmas, "zero", "sigma_min");
        this.finalSigmaZero = finalSigmas.equals("zero");
        this.lambdaMinClipped = config.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int extraScratch() {
        return 1; // the block's starting sample
    }

    @Override
    protected void schedule(int steps) {
        int last = SolverMath.lastTimestep(train, lambdaMinClipped);
        long[] t = NoiseSchedules.solverTimesteps(TimestepSpacing.LINSPACE, last, train.numTrainTimesteps, steps, 0);
        SigmaSchedule s = SigmaSchedule.solver(train, t, karras, steps)
                .withFinalSigma(finalSigmaZero ? 0f : train.sigmaMin());
        sigmas = s.sigmas();
        timesteps = s.timesteps();
        // diffusers switches lower_order_final on for good (register_to_config) in these cases.
        if (!lowerOrderFinal && (steps % solverOrder != 0 || finalSigmaZero)) {
            lowerOrderFinal = true;
        }
        orders = orderList(steps);
    }

    // diffusers' get_order_list: blocks [1, 2, 3] (or [1, 2]), shortened at the end with lower_order_final.
    private int[] orderList(int steps) {
        java.util.List<Integer> list = new java.util.ArrayList<>();
        int order = solverOrder;
        if (lowerOrderFinal) {
            if (order == 3) {
                int blocks = steps % 3 == 0 ? steps / 3 - 1 : steps / 3;
                for (int b = 0; b < blocks; b++) {
                    list.addAll(java.util.List.of(1, 2, 3));
                }
                switch (steps % 3) {
                    case 0 -> list.addAll(java.util.List.of(1, 2, 1));
                    case 1 -> list.add(1);
                    default -> list.addAll(java.util.List.of(1, 2));
                }
            } else if (order == 2) {
                int blocks = steps % 2 == 0 ? steps / 2 - 1 : steps / 2;
                for (int b = 0; b < blocks; b++) {
                    list.addAll(java.util.List.of(1, 2));
                }
                if (steps % 2 == 0) {
                    list.addAll(java.util.List.of(1, 1));
                } else {
                    list.add(1);
                }
            } else {
                for (int i = 0; i < steps; i++) {
                    list.add(1);
                }
            }
        } else {
            for (int b = 0; b < steps / order; b++) {
                for (int k = 1; k <= order; k++) {
                    list.add(k);
                }
            }
        }
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        dataPrediction(nextSlot(), sample, modelOutput, sigmas[index]);
        push();
        int order = Math.min(orders[index], stored);
        Tensor blockStart = extra(0);
        if (order == 1) {
            ops.copy(blockStart, sample);
        }
        update(order, index, sample, blockStart);
    }

    private void update(int order, int i, Tensor sample, Tensor x) {
        double sigmaNext = sigmas[i + 1];
        double alphaT = SolverMath.alpha(sigmaNext);
        double sigmaT = SolverMath.sigmaT(sigmaNext);
        double lambdaT = SolverMath.lambda(sigmaNext);
        // The block started `order − 1` evaluations ago, at σ_s(order−1).
        double sigmaStart = SolverMath.sigmaT(sigmas[i - (order - 1)]);
        double lambdaStart = SolverMath.lambda(sigmas[i - (order - 1)]);
        double h = lambdaT - lambdaStart;
        double emh = Math.exp(-h);
        double base = -alphaT * (emh - 1.0);
        weights[0] = (float) (sigmaT / sigmaStart);
        terms[0] = x;
        if (order == 1) {
            weights[1] = (float) base;
            terms[1] = history(0);
            ops.linearCombination(sample, weights, terms, 2);
        } else if (order == 2) {
            // D0 = m1 (the block's first x̂₀), D1 = (m0 − m1)/r0, r0 = (λ_s0 − λ_s1)/h.
            double r0 = (SolverMath.lambda(sigmas[i]) - lambdaStart) / h;
            double d1 = heun ? alphaT * ((emh - 1.0) / h + 1.0) : 0.5 * base;
            weights[1] = (float) (d1 / r0);
            terms[1] = history(0);
            weights[2] = (float) (base - d1 / r0);
            terms[2] = history(1);
            ops.linearCombination(sample, weights, terms, 3);
        } else {
            double r0 = (SolverMath.lambda(sigmas[i]) - lambdaStart) / h;
            double r1 = (SolverMath.lambda(sigmas[i - 1]) - lambdaStart) / h;
            double c1 = alphaT * ((emh - 1.0) / h + 1.0);
            // D0 = m2; D1_0 = (m1 − m2)/r1; D1_1 = (m0 − m2)/r0.
            double w0;
            double w1;
            double w2 = base;
            if (heun) {
                // D1 = (r0·D1_0 − r1·D1_1)/(r0 − r1), D2 = 2(D1_1 − D1_0)/(r0 − r1).
                double c2 = -alphaT * ((emh - 1.0 + h) / (h * h) - 0.5);
                double a10 = r0 / (r0 - r1) * c1 - 2 / (r0 - r1) * c2;
                double a11 = -r1 / (r0 - r1) * c1 + 2 / (r0 - r1) * c2;
                w1 = a10 / r1;
                w0 = a11 / r0;
                w2 += -a10 / r1 - a11 / r0;
            } else {
                w0 = c1 / r0;
                w1 = 0;
                w2 += -c1 / r0;
            }
            weights[1] = (float) w0;
            terms[1] = history(0);
            weights[2] = (float) w1;
            terms[2] = history(1);
            weights[3] = (float) w2;
            terms[3] = history(2);
            ops.linearCombination(sample, weights, terms, 4);
        }
    }
}
