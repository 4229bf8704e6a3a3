// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.tensor.HostTensor;

/** What the orchestration tells about its progress; the API turns it into {@code StepProgress}. */
public interface StepObserver {

    /** Sees nothing, never cancels. */
    StepObserver NONE = new StepObserver() {
        @Override
        public void begin(HostTensor latents, Runnable refresh) {
        }

        @Override
        public boolean afterStep(int done, int total, double timestep, long elapsedNanos) {
            return true;
        }
    };

    /**
     * A model's loop begins (the base's, then the refiner's): its latents as a host tensor, which
     * {@code refresh} brings up to date (a download on a device engine).
     */
    void begin(HostTensor latents, Runnable refresh);

    /**
     * After each evaluation.
     *
     * @param done         evaluations done in the whole generation, from 1
     * @param total        evaluations of the whole generation
     * @param timestep     the timestep of the evaluation just done
     * @param elapsedNanos since the generation started
     * @return false to stop before the next evaluation
     */
    boolean afterStep(int done, int total, double timestep, long elapsedNanos);
}
