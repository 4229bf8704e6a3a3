// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

/** Told after each denoising step; returns false to stop the loop before the next step. */
@FunctionalInterface
public interface StepCallback {

    /**
     * @param index the evaluation just done (index into the scheduler's timesteps)
     * @param done  evaluations done in this run, from 1
     * @param total evaluations this run will do
     */
    boolean afterStep(int index, int done, int total);
}
