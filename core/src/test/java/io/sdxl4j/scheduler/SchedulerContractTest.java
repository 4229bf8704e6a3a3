// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.SchedulerType;
import io.sdxl4j.TimestepSpacing;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What every scheduler promises, whatever its stepping rule. */
class SchedulerContractTest {

    private static final long[] SHAPE = {1, 4, 8, 8};

    @ParameterizedTest
    @EnumSource(SchedulerType.class)
    void schedulesRunFromHighNoiseDownForEverySpacingAndStepCount(SchedulerType type) {
        for (TimestepSpacing spacing : TimestepSpacing.values()) {
            for (int steps : new int[] {1, 2, 3, 4, 10, 30}) {
                String where = type + " " + spacing + " " + steps;
                try (Scheduler s = Schedulers.create(type, SchedulerConfig.sdxlDefault().with("timestep_spacing",
                        spacing.configValue()))) {
                    s.setTimesteps(steps);
                    double[] t = s.timesteps();
                    assertTrue(t.length >= steps * s.order() - (s.order() - 1) && t.length <= steps * s.order() + 1,
                            where + ": " + t.length + " evaluations");
                    for (int i = 0; i < t.length; i++) {
                        assertTrue(t[i] >= 0 && t[i] < 1000, where + ": timestep " + t[i]);
                        // Across steps the timesteps fall; within a two-evaluation step an ancestral
                        // midpoint may sit below the next step's (KDPM2 a steps to σ_down, then re-noises).
                        int o = s.order();
                        assertTrue(i < o || i % o != 0 || t[i] <= t[i - o], where + ": timesteps rise at " + i);
                        assertTrue(s.inputScale(i) > 0 && s.inputScale(i) <= 1, where + ": input scale");
                    }
                    for (double sigma : s.sigmas()) {
                        assertTrue(sigma >= 0 && Double.isFinite(sigma), where + ": sigma " + sigma);
                    }
                    assertTrue(s.initNoiseSigma() > 0, where + ": init noise sigma " + s.initNoiseSigma());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SchedulerType.class)
    void fewTrailingStepsDenoiseToFiniteLatentsAsTurboModelsUse(SchedulerType type) {
        HostTensorOps ops = HostTensorOps.INSTANCE;
        for (int steps = 1; steps <= 4; steps++) {
            try (Scheduler s = Schedulers.create(type, SchedulerConfig.sdxlDefault().with("timestep_spacing", "trailing"));
                 HostTensor latents = HostTensor.floats(SHAPE);
                 HostTensor output = HostTensor.floats(SHAPE)) {
                s.setTimesteps(steps);
                s.begin(ops, SHAPE);
                TorchGenerator noise = new TorchGenerator(steps);
                ops.randn(latents, noise);
                ops.scale(latents, (float) s.initNoiseSigma(), latents);
                for (int i = 0; i < s.evaluationCount(); i++) {
                    // A model that predicts the noise as the scaled input: the sample shrinks towards 0.
                    ops.scale(output, (float) s.inputScale(i), latents);
                    s.step(output, i, latents, noise);
                }
                for (float v : latents.toFloatArray()) {
                    assertTrue(Float.isFinite(v), type + " " + steps + " steps: " + v);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SchedulerType.class)
    void rejectsStepCountsOutsideTheTrainingSchedule(SchedulerType type) {
        try (Scheduler s = Schedulers.create(type, SchedulerConfig.sdxlDefault())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0));
            assertTrue(e.getMessage().startsWith("steps: 0"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001));
        }
    }

    @ParameterizedTest
    @EnumSource(SchedulerType.class)
    void closeIsIdempotentAndASecondGenerationRepeatsTheFirst(SchedulerType type) {
        HostTensorOps ops = HostTensorOps.INSTANCE;
        float[][] results = new float[2][];
        try (Scheduler s = Schedulers.create(type, SchedulerConfig.sdxlDefault())) {
            for (int run = 0; run < 2; run++) {
                try (HostTensor latents = HostTensor.floats(SHAPE); HostTensor output = HostTensor.floats(SHAPE)) {
                    s.setTimesteps(6);
                    s.begin(ops, SHAPE);
                    TorchGenerator noise = new TorchGenerator(11);
                    ops.randn(latents, noise);
                    for (int i = 0; i < s.evaluationCount(); i++) {
                        ops.scale(output, 0.5f, latents);
                        s.step(output, i, latents, noise);
                    }
                    results[run] = latents.toFloatArray();
                }
            }
            s.close();
            s.close();
        }
        assertEquals(java.util.Arrays.toString(results[0]), java.util.Arrays.toString(results[1]),
                type + ": state left over from the first generation");
    }
}
