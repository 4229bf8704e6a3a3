// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;

/**
 * A diffusion sampler, shaped like diffusers' schedulers so that each can be checked against its
 * diffusers namesake: {@link #setTimesteps} computes the schedule once, then the denoising loop
 * asks for each evaluation's timestep and input scale and calls {@link #step} with the model's
 * (guided) output.
 *
 * <p>Evaluations are addressed by index into {@link #timesteps()}; a second-order scheduler such
 * as Heun has more evaluations than inference steps, exactly as diffusers' {@code timesteps}
 * tensor. img2img and the refiner begin (and the base of an ensemble ends) part-way through the
 * schedule by passing the index range to the loop.
 *
 * <p>A scheduler holds per-generation state (multistep history), so one instance serves one
 * generation at a time. Its arithmetic goes through {@link TensorOps}, so the same code runs on
 * host or device tensors.
 */
public interface Scheduler extends AutoCloseable {

    /** diffusers' class name, e.g. {@code EulerDiscreteScheduler}. */
    String name();

    /** Computes the schedule for {@code numInferenceSteps} steps (diffusers' {@code set_timesteps}). */
    void setTimesteps(int numInferenceSteps);

    /** The steps of the last {@link #setTimesteps} call. */
    int numInferenceSteps();

    /** The timesteps fed to the model, one per evaluation; a copy. */
    double[] timesteps();

    /** The noise levels σ of a sigma-based schedule (length = evaluations + 1); empty otherwise. */
    double[] sigmas();

    /** The number of model evaluations of the whole schedule ({@code len(timesteps)}). */
    default int evaluationCount() {
        return timesteps().length;
    }

    /** The timestep fed to the model at evaluation {@code index}. */
    double timestep(int index);

    /** The standard deviation of the initial noise ({@code init_noise_sigma}). */
    double initNoiseSigma();

    /**
     * The factor {@code scale_model_input} applies to the latents before evaluation {@code index}
     * (1 for schedulers that leave the input unscaled).
     */
    double inputScale(int index);

    /**
     * The number of evaluations per inference step (2 for Heun's and KDPM2's two-evaluation steps),
     * diffusers' {@code order}, used to turn a start step into an evaluation index.
     */
    default int order() {
        return 1;
    }

    /**
     * Starts a generation: clears the history and prepares any scratch tensors for latents of
     * {@code latentShape} (kept across generations of the same shape).
     */
    void begin(TensorOps ops, long[] latentShape);

    /**
     * One update: replaces {@code sample} (the latents) with the sample at the next evaluation,
     * given the model output at evaluation {@code index}. Stochastic schedulers draw their noise
     * from {@code noise} in diffusers' order.
     */
    void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise);

    /**
     * Noises clean latents to the level of evaluation {@code index} (diffusers' {@code add_noise},
     * used by img2img): {@code out = f(original, noise)}.
     */
    void addNoise(Tensor original, Tensor noise, int index, Tensor out);

    /** Frees scratch tensors; may be called twice. */
    @Override
    void close();
}
