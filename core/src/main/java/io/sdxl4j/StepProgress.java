// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.FloatBuffer;
import java.time.Duration;

/**
 * What a {@link ProgressListener} learns after each denoising step, and its way to cancel.
 * Valid only during the callback: the latents view is the pipeline's own buffer.
 */
public final class StepProgress {

    private final int step;
    private final int totalSteps;
    private final double timestep;
    private final long elapsedNanos;
    private final FloatBuffer latents;
    private final long[] latentShape;
    private boolean cancelled;

    StepProgress(int step, int totalSteps, double timestep, long elapsedNanos, FloatBuffer latents, long[] latentShape) {
        this.step = step;
        this.totalSteps = totalSteps;
        this.timestep = timestep;
        this.elapsedNanos = elapsedNanos;
        this.latents = latents;
        this.latentShape = latentShape;
    }

    /** Steps done, from 1 to {@link #totalSteps()}. */
    public int step() {
        return step;
    }

    /** Model evaluations this generation runs. */
    public int totalSteps() {
        return totalSteps;
    }

    /** The timestep of the evaluation just done. */
    public double timestep() {
        return timestep;
    }

    /** Time since the generation started. */
    public Duration elapsed() {
        return Duration.ofNanos(elapsedNanos);
    }

    /** The latents after this step, read-only, C order of {@link #latentShape()}. */
    public FloatBuffer latents() {
        return latents.asReadOnlyBuffer();
    }

    /** The latents' shape: (images, channels, height / f, width / f). */
    public long[] latentShape() {
        return latentShape.clone();
    }

    /** Stops the generation before the next step; {@code generate} then throws {@link GenerationCancelledException}. */
    public void cancel() {
        cancelled = true;
    }

    boolean isCancelled() {
        return cancelled;
    }
}
