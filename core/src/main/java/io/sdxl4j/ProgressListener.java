// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * Called on the generating thread after every denoising step. A listener may cancel through
 * {@link StepProgress#cancel()}; it should return quickly, since the next step waits for it.
 */
@FunctionalInterface
public interface ProgressListener {

    /** A listener that does nothing. */
    ProgressListener NONE = p -> { };

    void onStep(StepProgress progress);
}
