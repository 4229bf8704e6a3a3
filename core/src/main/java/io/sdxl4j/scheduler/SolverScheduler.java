// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.SdxlException;
import io.sdxl4j.tensor.Tensor;

/**
 * The DPM-Solver and UniPC family: variance-preserving samples on a σ schedule, a ring of the last
 * converted model outputs, and multistep updates of {@code solver_order} 1–3.
 */
abstract class SolverScheduler extends BaseScheduler {

    protected final int solverOrder;
    protected final PredictionType predictionType;
    protected final double[] coefficients = new double[2];
    private final int ringSize;
    protected int stored;
    protected int newest;

    /**
     * @param extraSlots history slots beyond the order (UniPC keeps one more, so that its corrector
     *                   still sees the previous outputs while the new one is written)
     */
    SolverScheduler(String name, SchedulerConfig config, TrainingSchedule train, int extraSlots) {
        super(config, train);
        this.solverOrder = config.getInt("solver_order", 2);
        if (solverOrder < 1 || solverOrder > 3) {
            throw new SdxlException(config.source() + ": " + name + " does not support solver_order=" + solverOrder
                    + "; supported: 1, 2, 3");
        }
        config.requireFalse(name, "thresholding");
        String variance = config.getString("variance_type", null);
        if (variance != null) {
            throw new SdxlException(config.source() + ": " + name + " does not support variance_type=" + variance);
        }
        this.predictionType = PredictionType.fromConfig(config, name);
        this.ringSize = solverOrder + extraSlots;
    }

    @Override
    protected int scratchTensors() {
        return ringSize + extraScratch();
    }

    /** Scratch tensors after the history ring, at {@link #extra(int)}. */
    protected abstract int extraScratch();

    protected final Tensor extra(int i) {
        return scratch(ringSize + i);
    }

    @Override
    protected void reset() {
        stored = 0;
        newest = -1;
    }

    /** The history entry {@code ago} outputs back (0: the newest). */
    protected final Tensor history(int ago) {
        return scratch(Math.floorMod(newest - ago, ringSize));
    }

    /** The slot the next output goes to, without making it the newest yet. */
    protected final Tensor nextSlot() {
        return scratch((newest + 1) % ringSize);
    }

    /** Makes the next slot the newest entry. */
    protected final void push() {
        newest = (newest + 1) % ringSize;
        stored = Math.min(stored + 1, solverOrder);
    }

    /** Writes x̂₀ (DPM-Solver++'s data prediction) of the model output at σ into {@code dst}. */
    protected final void dataPrediction(Tensor dst, Tensor sample, Tensor modelOutput, double sigma) {
        Predictions.x0FromAlpha(predictionType, SolverMath.alpha(sigma), SolverMath.sigmaT(sigma), coefficients);
        ops.axpby(dst, (float) coefficients[0], sample, (float) coefficients[1], modelOutput);
    }

    /** {@code add_noise}: α_t·x₀ + σ_t·ε at the evaluation's σ. */
    @Override
    public void addNoise(Tensor original, Tensor noise, int index, Tensor out) {
        double sigma = sigmas[index];
        ops.axpby(out, (float) SolverMath.alpha(sigma), original, (float) SolverMath.sigmaT(sigma), noise);
    }
}
