// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.util.Arrays;

/**
 * What every scheduler shares: its config and training schedule, the schedule arrays
 * {@link #setTimesteps} fills, and scratch tensors allocated in {@link #begin} (once per latent
 * shape, so that steps allocate nothing).
 */
abstract class BaseScheduler implements Scheduler {

    protected final SchedulerConfig config;
    protected final TrainingSchedule train;
    protected double[] timesteps = new double[0];
    protected float[] sigmas = new float[0];
    protected int numInferenceSteps;
    protected TensorOps ops;
    protected int latentElements;
    private long[] latentShape;
    private Tensor[] scratch = new Tensor[0];

    BaseScheduler(SchedulerConfig config, TrainingSchedule train) {
        this.config = config;
        this.train = train;
    }

    @Override
    public final void setTimesteps(int steps) {
        if (steps < 1 || steps > train.numTrainTimesteps) {
            throw new InvalidRequestException("steps", steps, "is outside [1, " + train.numTrainTimesteps + "], the"
                    + " scheduler's num_train_timesteps");
        }
        this.numInferenceSteps = steps;
        schedule(steps);
        reset();
    }

    /** Fills {@link #timesteps} (and {@link #sigmas} for sigma-based schedulers) for {@code steps} steps. */
    protected abstract void schedule(int steps);

    /** Sets integer timesteps (the ᾱ-based schedulers'). */
    protected final void setTimesteps(long[] values) {
        timesteps = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            timesteps[i] = values[i];
        }
    }

    /** Clears per-generation state (history, counters). */
    protected void reset() {
    }

    /** How many latent-shaped scratch tensors the scheduler needs. */
    protected int scratchTensors() {
        return 0;
    }

    /** Scratch tensor {@code i}, allocated in {@link #begin}. */
    protected final Tensor scratch(int i) {
        return scratch[i];
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

    /** VP schedulers start from unit-variance noise. */
    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    /** VP schedulers feed the latents unscaled. */
    @Override
    public double inputScale(int index) {
        return 1.0;
    }

    @Override
    public final void begin(TensorOps tensorOps, long[] shape) {
        if (tensorOps != ops || !Arrays.equals(shape, latentShape)) {
            freeScratch();
            this.ops = tensorOps;
            this.latentShape = shape.clone();
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            this.latentElements = Math.toIntExact(n);
            scratch = new Tensor[scratchTensors()];
            for (int i = 0; i < scratch.length; i++) {
                scratch[i] = tensorOps.allocate(shape);
            }
        }
        reset();
    }

    /** The ᾱ-based {@code add_noise} of DDPM/DDIM: {@code sqrt(ᾱ_t)·x₀ + sqrt(1-ᾱ_t)·ε}. */
    protected final void addNoiseAtTimestep(Tensor original, Tensor noise, int t, Tensor out) {
        float a = train.alphasCumprod[t];
        ops.axpby(out, (float) Math.sqrt(a), original, (float) Math.sqrt(1f - a), noise);
    }

    private void freeScratch() {
        for (Tensor t : scratch) {
            t.close();
        }
        scratch = new Tensor[0];
    }

    @Override
    public void close() {
        freeScratch();
        latentShape = null;
        ops = null;
    }

    @Override
    public String toString() {
        return name() + "[timesteps=" + Arrays.toString(timesteps) + "]";
    }
}
