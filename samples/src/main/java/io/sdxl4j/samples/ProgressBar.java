// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.ProgressListener;
import io.sdxl4j.StepProgress;
import java.io.PrintWriter;
import java.util.Locale;

/** A one-line progress bar on stderr: {@code [########------------] 12/30  3.4 s}. */
final class ProgressBar implements ProgressListener {

    private static final int WIDTH = 30;
    private final PrintWriter err;
    private boolean drawn;

    ProgressBar(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void onStep(StepProgress p) {
        int filled = p.step() * WIDTH / p.totalSteps();
        err.print(String.format(Locale.ROOT, "\r[%s%s] %d/%d %6.1f s", "#".repeat(filled), "-".repeat(WIDTH - filled),
                p.step(), p.totalSteps(), p.elapsed().toNanos() / 1e9));
        err.flush();
        drawn = true;
    }

    void finish() {
        if (drawn) {
            err.println();
            err.flush();
        }
    }
}
