// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import io.sdxl4j.ProgressListener;
import io.sdxl4j.StepProgress;
import java.nio.FloatBuffer;
import java.util.Locale;

/** Compares the latents after each step with the case's {@code latents_stepNN}, to locate a divergence. */
final class LatentTrace implements ProgressListener {

    private final ConformanceCase c;
    private int worstStep = -1;
    private double worstRelative;
    private double worstAbsolute;

    LatentTrace(ConformanceCase c) {
        this.c = c;
    }

    @Override
    public void onStep(StepProgress p) {
        String key = String.format(Locale.ROOT, "latents_step%02d", p.step() - 1);
        c.file(key).ifPresent(file -> {
            float[] expected = ConformanceRunner.read(file);
            FloatBuffer actual = p.latents();
            if (actual.remaining() != expected.length) {
                return;
            }
            double err = 0;
            double scale = 1e-6;
            for (int i = 0; i < expected.length; i++) {
                err = Math.max(err, Math.abs(actual.get(i) - expected[i]));
                scale = Math.max(scale, Math.abs(expected[i]));
            }
            if (worstStep < 0 && err / scale > 1e-3) {
                worstStep = p.step() - 1;
                worstRelative = err / scale;
                worstAbsolute = err;
            }
        });
    }

    /** Where the latents first left the reference by more than 0.1% of their range. */
    String detail() {
        return worstStep < 0 ? "latents within 0.1% at every step"
                : String.format(Locale.ROOT, "latents_step%02d differs by %.3g (%.2g of range)", worstStep,
                worstAbsolute, worstRelative);
    }
}
