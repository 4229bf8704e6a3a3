// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Pseudo numerical methods for diffusion models (Liu et al. 2022), diffusers'
 * {@code PNDMScheduler}: the linear multistep PLMS update (Adams–Bashforth of order up to 4 on the
 * model outputs, §3.3), optionally warmed up with pseudo Runge–Kutta steps ({@code skip_prk_steps}
 * false, diffusers' default; SDXL's config skips them). The transfer part is eq. 11's
 * {@code φ(x_t, ε, t, t−Δ)}.
 */
final class PNDMScheduler extends BaseScheduler {

    static final String NAME = "PNDMScheduler";
    private static final int PNDM_ORDER = 4;

    private final TimestepSpacing spacing;
    private final int stepsOffset;
    private final boolean skipPrk;
    private final PredictionType predictionType;
    private final float finalAlphaCumprod;
    private int prkCount;
    private int counter;
    private int ets;
    private int newestEts;
    private final float[] weights = new float[PNDM_ORDER];
    private final Tensor[] terms = new Tensor[PNDM_ORDER];

    public PNDMScheduler(SchedulerConfig config) {
        super(config, TrainingSchedule.of(config, BetaDefaults.DDPM, false, false));
        this.spacing = Schedulers.spacing(config, NAME, "leading");
        this.stepsOffset = config.getInt("steps_offset", 0);
        this.skipPrk = config.getBoolean("skip_prk_steps", false);
        this.predictionType = PredictionType.fromConfigWithoutSample(config, NAME);
        this.finalAlphaCumprod = config.getBoolean("set_alpha_to_one", false) ? 1f : train.alphasCumprod[0];
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int scratchTensors() {
        // a ring of the last four model outputs, the stage's starting sample, the PRK accumulator, the combined output
        return PNDM_ORDER + 3;
    }

    @Override
    protected void reset() {
        counter = 0;
        ets = 0;
        newestEts = -1;
    }

    @Override
    protected void schedule(int steps) {
        int n = train.numTrainTimesteps;
        long[] ascending = new long[steps];
        switch (spacing) {
            case LINSPACE -> {
                double[] lin = NoiseSchedules.numpyLinspace(0, n - 1, steps);
                for (int i = 0; i < steps; i++) {
                    ascending[i] = (long) Math.rint(lin[i]);
                }
            }
            case LEADING -> {
                int ratio = n / steps;
                for (int i = 0; i < steps; i++) {
                    ascending[i] = (long) i * ratio + stepsOffset;
                }
            }
            case TRAILING -> {
                long[] down = NoiseSchedules.integerTimesteps(TimestepSpacing.TRAILING, n, steps, 0);
                ascending = new long[down.length];
                for (int i = 0; i < down.length; i++) {
                    ascending[i] = down[down.length - 1 - i];
                }
            }
        }
        int m = ascending.length;
        if (skipPrk) {
            // PLMS: the second timestep twice (its second evaluation completes the first step), highest first.
            // diffusers: concat(ts[:-1], ts[-2:-1], ts[-1:])[::-1]; a single step has no second timestep.
            prkCount = 0;
            if (m == 1) {
                timesteps = new double[] {ascending[0]};
            } else {
                timesteps = new double[m + 1];
                for (int i = 0; i < m - 1; i++) {
                    timesteps[m - i] = ascending[i];
                }
                timesteps[1] = ascending[m - 2];
                timesteps[0] = ascending[m - 1];
            }
        } else {
            if (m < PNDM_ORDER) {
                throw new InvalidRequestException("steps", steps, "is below 4, which PNDM's Runge-Kutta warm-up"
                        + " needs (set skip_prk_steps)");
            }
            // PRK: each of the last four timesteps and its half-step, each twice, trimmed: diffusers'
            // prk_timesteps[:-1].repeat(2)[1:-1][::-1]; then PLMS on the rest.
            int half = n / steps / 2;
            long[] prk = new long[2 * PNDM_ORDER];
            for (int i = 0; i < PNDM_ORDER; i++) {
                long t = ascending[m - PNDM_ORDER + i];
                prk[2 * i] = t;
                prk[2 * i + 1] = t + half;
            }
            long[] repeated = new long[2 * (prk.length - 1)];
            for (int i = 0; i < prk.length - 1; i++) {
                repeated[2 * i] = prk[i];
                repeated[2 * i + 1] = prk[i];
            }
            prkCount = repeated.length - 2;
            timesteps = new double[prkCount + m - 3];
            for (int i = 0; i < prkCount; i++) {
                timesteps[i] = repeated[repeated.length - 2 - i];
            }
            for (int i = 0; i < m - 3; i++) {
                timesteps[prkCount + i] = ascending[m - 4 - i];
            }
        }
    }

    @Override
    public void addNoise(Tensor original, Tensor noise, int index, Tensor out) {
        addNoiseAtTimestep(original, noise, (int) timesteps[index], out);
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        if (counter < prkCount && !skipPrk) {
            stepPrk(modelOutput, (int) timesteps[index], sample);
        } else {
            stepPlms(modelOutput, (int) timesteps[index], sample);
        }
        counter++;
    }

    private Tensor start() {
        return scratch(PNDM_ORDER);
    }

    private Tensor accumulator() {
        return scratch(PNDM_ORDER + 1);
    }

    private Tensor combined() {
        return scratch(PNDM_ORDER + 2);
    }

    private void remember(Tensor modelOutput) {
        newestEts = (newestEts + 1) % PNDM_ORDER;
        ops.copy(scratch(newestEts), modelOutput);
        ets = Math.min(ets + 1, PNDM_ORDER);
    }

    private Tensor etsAgo(int k) {
        return scratch(Math.floorMod(newestEts - k, PNDM_ORDER));
    }

    // Runge-Kutta warm-up: ε = (k₁ + 2k₂ + 2k₃ + k₄)/6 over four evaluations at t, t−Δ/2, t−Δ/2, t−Δ.
    private void stepPrk(Tensor modelOutput, int timestep, Tensor sample) {
        int ratio = train.numTrainTimesteps / numInferenceSteps;
        int prev = timestep - (counter % 2 == 1 ? 0 : ratio / 2);
        int t = (int) timesteps[counter / 4 * 4];
        Tensor acc = accumulator();
        switch (counter % 4) {
            case 0 -> {
                ops.scale(acc, 1f / 6, modelOutput);
                remember(modelOutput);
                ops.copy(start(), sample);
                transfer(sample, start(), t, prev, modelOutput);
            }
            case 1, 2 -> {
                ops.axpby(acc, 1f, acc, 1f / 3, modelOutput);
                transfer(sample, start(), t, prev, modelOutput);
            }
            default -> {
                ops.axpby(combined(), 1f, acc, 1f / 6, modelOutput);
                transfer(sample, start(), t, prev, combined());
            }
        }
    }

    private void stepPlms(Tensor modelOutput, int timestep, Tensor sample) {
        if (!skipPrk && ets < 3) {
            throw new IllegalStateException(NAME + " can only run PLMS steps after 3 Runge-Kutta warm-up steps");
        }
        int ratio = train.numTrainTimesteps / numInferenceSteps;
        int prev = timestep - ratio;
        int t = timestep;
        if (counter != 1) {
            remember(modelOutput);
        } else {
            prev = timestep;
            t = timestep + ratio;
        }
        Tensor from = sample;
        if (ets == 1 && counter == 0) {
            ops.copy(combined(), modelOutput);
            ops.copy(start(), sample);
        } else if (ets == 1 && counter == 1) {
            ops.axpby(combined(), 0.5f, modelOutput, 0.5f, etsAgo(0));
            from = start();
        } else {
            // Adams–Bashforth coefficients of order 2, 3, 4.
            int order = ets;
            float[] c = switch (order) {
                case 2 -> AB2;
                case 3 -> AB3;
                default -> AB4;
            };
            for (int k = 0; k < order; k++) {
                weights[k] = c[k];
                terms[k] = etsAgo(k);
            }
            ops.linearCombination(combined(), weights, terms, order);
        }
        transfer(sample, from, t, prev, combined());
    }

    private static final float[] AB2 = {3f / 2, -1f / 2};
    private static final float[] AB3 = {23f / 12, -16f / 12, 5f / 12};
    private static final float[] AB4 = {55f / 24, -59f / 24, 37f / 24, -9f / 24};

    /**
     * Eq. 11's transfer φ: {@code dst = sqrt(ᾱ_prev/ᾱ_t)·x − (ᾱ_prev − ᾱ_t)/(ᾱ_t·sqrt(1−ᾱ_prev) +
     * sqrt(ᾱ_t(1−ᾱ_t)ᾱ_prev))·ε}, with ε from a v-prediction converted first.
     */
    private void transfer(Tensor dst, Tensor x, int t, int prev, Tensor output) {
        double alpha = train.alphasCumprod[t];
        double alphaPrev = train.alphaCumprod(prev, finalAlphaCumprod);
        double beta = 1 - alpha;
        double betaPrev = 1 - alphaPrev;
        double sampleCoeff = Math.sqrt(alphaPrev / alpha);
        double k = (alphaPrev - alpha) / (alpha * Math.sqrt(betaPrev) + Math.sqrt(alpha * beta * alphaPrev));
        if (predictionType == PredictionType.V_PREDICTION) {
            // ε = sqrt(ᾱ)·v + sqrt(1−ᾱ)·x
            ops.axpby(dst, (float) (sampleCoeff - k * Math.sqrt(beta)), x, (float) (-k * Math.sqrt(alpha)), output);
        } else {
            ops.axpby(dst, (float) sampleCoeff, x, (float) -k, output);
        }
    }
}
