// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EulerDiscreteSchedulerTest {

    private static final SchedulerConfig SDXL =
            SchedulerConfig.read(TestData.tinyModel().resolve("scheduler/scheduler_config.json"));

    @Test
    void matchesDiffusersScheduleOfTheConformanceCase() throws IOException {
        Path dir = TestData.conformance().resolve("cases/txt2img_euler_cfg5");
        Scheduler s = new EulerDiscreteScheduler(SDXL);
        s.setTimesteps(8);
        assertArrayEquals(doubles(Npy.readFloats(dir.resolve("timesteps.npy")).data()), s.timesteps(), 0.0);
        assertArrayEquals(doubles(Npy.readFloats(dir.resolve("sigmas.npy")).data()), s.sigmas(), 2e-6);
        // case_facts.json: init_noise_sigma 7.439362 for leading spacing, sqrt(σmax² + 1).
        assertEquals(7.439362, s.initNoiseSigma(), 5e-6); // printed to 7 digits
    }

    @Test
    void scalesTheInputBySqrtOfSigmaSquaredPlusOne() {
        Scheduler s = new EulerDiscreteScheduler(SDXL);
        s.setTimesteps(8);
        double sigma = s.sigmas()[3];
        assertEquals(1 / Math.sqrt(sigma * sigma + 1), s.inputScale(3), 1e-7);
    }

    @Test
    void trailingSpacingKeepsTheLastTrainingStepForFewStepModels() {
        Scheduler s = new EulerDiscreteScheduler(SDXL.with("timestep_spacing", "trailing"));
        s.setTimesteps(4);
        assertArrayEquals(new double[] {999, 749, 499, 249}, s.timesteps(), 0.0);
        double[] sigmas = s.sigmas();
        // The trailing schedule's σ at t=999 is the training schedule's maximum, and it is the init sigma.
        assertEquals(sigmas[0], s.initNoiseSigma(), 0.0);
        assertEquals(0.0, sigmas[4], 0.0);
    }

    @Test
    void linspaceSpacingLeavesFractionalTimesteps() {
        Scheduler s = new EulerDiscreteScheduler(SDXL.with("timestep_spacing", "linspace"));
        s.setTimesteps(4);
        assertArrayEquals(new double[] {999, 666, 333, 0}, s.timesteps(), 0.0);
        s.setTimesteps(7);
        assertEquals((float) (999 - 999.0 / 6), s.timesteps()[1], 0.0);
    }

    @Test
    void karrasSigmasFollowTheirFormulaBetweenTheScheduleEnds() {
        Scheduler plain = new EulerDiscreteScheduler(SDXL);
        plain.setTimesteps(10);
        Scheduler karras = new EulerDiscreteScheduler(SDXL.with("use_karras_sigmas", true));
        karras.setTimesteps(10);
        double[] p = plain.sigmas();
        double[] k = karras.sigmas();
        assertEquals((float) p[0], k[0], 1e-5, "starts at the schedule's largest sigma");
        assertEquals((float) p[9], k[9], 1e-6, "ends at its smallest");
        double rho = 7;
        double expected = Math.pow(Math.pow(k[0], 1 / rho) + 0.5 * (Math.pow(k[9], 1 / rho) - Math.pow(k[0], 1 / rho)),
                rho);
        assertTrue(Math.abs(Math.pow(Math.pow(p[0], 1 / rho) * 0.5 + Math.pow(p[9], 1 / rho) * 0.5, rho)
                - expected) < 1e-3);
        assertTrue(karras.timesteps()[1] % 1 != 0, "timesteps come from sigma_to_t and are fractional");
    }

    @Test
    void failsLoudlyOnAnOptionItDoesNotImplement() {
        SdxlException e = assertThrows(SdxlException.class,
                () -> new EulerDiscreteScheduler(SDXL.with("timestep_spacing", "quadratic")));
        assertTrue(e.getMessage().contains("timestep_spacing=quadratic"), e.getMessage());
        e = assertThrows(SdxlException.class,
                () -> new EulerDiscreteScheduler(SchedulerConfig.of(Map.of("use_beta_sigmas", true))));
        assertTrue(e.getMessage().contains("use_beta_sigmas"), e.getMessage());
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
