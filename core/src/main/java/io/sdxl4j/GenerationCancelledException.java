// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/** Thrown by {@link SdxlPipeline#generate} when a {@link ProgressListener} cancelled the generation. */
public final class GenerationCancelledException extends SdxlException {

    private static final long serialVersionUID = 1L;

    private final int completedSteps;

    public GenerationCancelledException(int completedSteps) {
        super("generation cancelled after " + completedSteps + " steps");
        this.completedSteps = completedSteps;
    }

    /** Denoising steps finished before the cancellation took effect. */
    public int completedSteps() {
        return completedSteps;
    }
}
