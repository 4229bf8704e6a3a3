// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.scheduler.Scheduler;

/**
 * The part of a scheduler's timesteps one model runs: evaluations {@code [from, to)} of
 * {@code scheduler} after its {@code set_timesteps}. img2img, inpainting and the refiner's second
 * pass start late (strength); an ensemble's base ends early ({@code denoising_end}) and its
 * refiner starts there ({@code denoising_start}). Each rule is diffusers' and is written here once.
 *
 * @param scheduler the model's scheduler, its timesteps set
 * @param from      the first evaluation
 * @param to        the evaluation after the last
 */
record Schedule(Scheduler scheduler, int from, int to) {

    /** Evaluations run. */
    int evaluations() {
        return to - from;
    }

    /** The whole schedule of {@code steps}. */
    static Schedule full(Scheduler scheduler, int steps) {
        scheduler.setTimesteps(steps);
        return new Schedule(scheduler, 0, scheduler.evaluationCount());
    }

    /**
     * diffusers' {@code get_timesteps}: strength s keeps the last {@code min(⌊n·s⌋, n)} steps; the start
     * is an evaluation index (× the scheduler's order).
     *
     * @param field the request field the strength came from, for the error when no step is left
     * @throws InvalidRequestException naming {@code field} when the strength leaves no step to run
     */
    static Schedule fromStrength(Scheduler scheduler, int steps, double strength, String field) {
        scheduler.setTimesteps(steps);
        int init = Math.min((int) (steps * strength), steps);
        int start = Math.max(steps - init, 0) * scheduler.order();
        if (start >= scheduler.evaluationCount()) {
            throw new InvalidRequestException(field, strength, "with " + steps + " steps leaves no step to run;"
                    + " raise it or the steps");
        }
        return new Schedule(scheduler, start, scheduler.evaluationCount());
    }

    /**
     * The base's part of an ensemble, diffusers' {@code denoising_end}: the timesteps at or above the
     * hand-over timestep.
     */
    Schedule endingAt(double highNoiseFraction, int trainTimesteps) {
        int cutoff = cutoff(highNoiseFraction, trainTimesteps);
        int count = 0;
        for (int i = from; i < to; i++) {
            count += scheduler.timestep(i) >= cutoff ? 1 : 0;
        }
        return new Schedule(scheduler, from, from + count);
    }

    /**
     * The refiner's part of an ensemble, diffusers' {@code denoising_start}: the timesteps below the
     * hand-over timestep (an odd count for second-order schedulers, so that a step is never split).
     */
    static Schedule startingAt(Scheduler scheduler, int steps, double highNoiseFraction, int trainTimesteps) {
        scheduler.setTimesteps(steps);
        int cutoff = cutoff(highNoiseFraction, trainTimesteps);
        int count = 0;
        for (int i = 0; i < scheduler.evaluationCount(); i++) {
            count += scheduler.timestep(i) < cutoff ? 1 : 0;
        }
        if (scheduler.order() == 2 && count % 2 == 0) {
            count++;
        }
        count = Math.min(count, scheduler.evaluationCount());
        return new Schedule(scheduler, scheduler.evaluationCount() - count, scheduler.evaluationCount());
    }

    /** The hand-over timestep, diffusers' {@code int(round(T − fraction·T))} (Python rounds half to even). */
    private static int cutoff(double highNoiseFraction, int trainTimesteps) {
        return (int) Math.rint(trainTimesteps - highNoiseFraction * trainTimesteps);
    }
}
