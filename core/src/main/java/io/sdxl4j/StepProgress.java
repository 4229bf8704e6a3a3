// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.image.LatentPreview;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.time.Duration;

/**
 * What a {@link ProgressListener} learns after each denoising step, and its way to cancel. The
 * pipeline reuses one instance for every step of a generation, so read it during the callback;
 * the latents view is the pipeline's own buffer.
 */
public final class StepProgress {

    private FloatBuffer latents;
    private long[] latentShape;
    private Runnable refresh;
    private boolean stale;
    private int step;
    private int totalSteps;
    private double timestep;
    private long elapsedNanos;
    private boolean cancelled;

    // One instance per generation, updated in place after each step: the loop allocates nothing.
    StepProgress() {
    }

    // Each model's loop (base, refiner) has its own latents; refresh brings them to the host buffer
    // and runs only when a listener reads them.
    void bind(FloatBuffer latents, long[] latentShape, Runnable refresh) {
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

    /** Model evaluations this generation runs (base and refiner together). */
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

    /**
     * A cheap RGB preview of image {@code index} of the batch from the current latents, one pixel per
     * latent pixel, by the fixed latent-to-RGB factors of SDXL's VAE that ComfyUI and A1111 use (no
     * VAE call).
     */
    public BufferedImage preview(int index) {
        return LatentPreview.of(latents(), latentShape, index);
    }

    /** Stops the generation before the next step; {@code generate} then throws {@link GenerationCancelledException}. */
    public void cancel() {
        cancelled = true;
    }

    boolean isCancelled() {
        return cancelled;
    }
}
