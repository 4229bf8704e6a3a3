// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.Tensor;

/**
 * Ancestral Euler sampling (k-diffusion's {@code sample_euler_ancestral}), diffusers'
 * {@code EulerAncestralDiscreteScheduler}, "Euler a": an Euler step down to
 * σ_down = sqrt(σ_next² − σ_up²), then fresh noise of std σ_up = sqrt(σ_next²(σ² − σ_next²)/σ²),
 * drawn from the generator every step.
 */
final class EulerAncestralDiscreteScheduler extends SigmaSampler {

    static final String NAME = "EulerAncestralDiscreteScheduler";

    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(NAME, config, TrainingSchedule.of(config, BetaDefaults.DDPM, true, true), false);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    protected int scratchTensors() {
        return 1;
    }

    @Override
    protected void schedule(int steps) {
        SigmaSchedule s = SigmaSchedule.spaced(train, spacing, steps, stepsOffset, false, null, false);
        sigmas = s.sigmas();
        timesteps = s.float32Timesteps();
    }

    @Override
    public void step(Tensor modelOutput, int index, Tensor sample, NoiseSource noise) {
        double from = sigmas[index];
        double to = sigmas[index + 1];
        double up = Math.sqrt(to * to * (from * from - to * to) / (from * from));
        double down = Math.sqrt(to * to - up * up);
        eulerStep(sample, sample, modelOutput, from, from, down - from);
        Tensor eps = scratch(0);
        ops.randn(eps, noise);
        ops.axpby(sample, 1f, sample, (float) up, eps);
    }
}
