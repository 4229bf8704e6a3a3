// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.FloatBuffer;
import java.time.Duration;

/**
 * What a {@link ProgressListener} learns after each denoising step, and its way to cancel. The
 * pipeline reuses one instance for every step of a generation, so read it during the callback;
 * the latents view is the pipeline's own buffer.
 */
public final class StepProgress {

    private final FloatBuffer latents;
    private final long[] latentShape;
    private final Runnable refresh;
    private boolean stale;
    private int step;
    private int totalSteps;
    private double timestep;
    private long elapsedNanos;
    private boolean cancelled;

    // One instance per generation, updated in place after each step: the loop allocates nothing.
    // refresh brings the latents to the host buffer; it runs only when a listener reads them.
    StepProgress(FloatBuffer latents, long[] latentShape, Runnable refresh) {
        this.latents = latents;
        this.latentShape = latentShape;
        this.refresh = refresh;
    }

    void update(int step, int totalSteps, double timestep, long elapsedNanos) {
        this.step = step;
        this.totalSteps = totalSteps;
        this.timestep = timestep;
        this.elapsedNanos = elapsedNanos;
        this.stale = true;
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

    /** The latents after this step, read-only, C order of {@link #latentShape()}; valid during the callback. */
    public FloatBuffer latents() {
        if (stale) {
            refresh.run();
            stale = false;
        }
        return latents.duplicate();
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
