// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

class GuidanceRescaleTest {

    @Test
    void matchesDiffusersRescaleNoiseCfgPerImage() {
        int per = 4 * 8 * 8;
        float[] c = new TorchGenerator(1).randn(2 * per);
        float[] g = new TorchGenerator(2).randn(2 * per);
        for (int i = per; i < 2 * per; i++) {
            g[i] *= 3; // the second image's guided prediction has a larger spread
        }
        double phi = 0.7;
        try (HostTensor cond = HostTensor.of(c, 2, 4, 8, 8); HostTensor guided = HostTensor.of(g, 2, 4, 8, 8)) {
            Tensor[] items = {guided.slice(0, 1), guided.slice(1, 2)};
            DenoisingLoop.rescale(HostTensorOps.INSTANCE, phi, cond, guided, items, new double[2], new double[2]);
            float[] actual = guided.toFloatArray();
            for (int item = 0; item < 2; item++) {
                // noise_cfg * (φ·std_text/std_cfg + 1 − φ), torch's std with Bessel's correction.
                double factor = phi * std(c, item * per, per) / std(g, item * per, per) + (1 - phi);
                for (int i = item * per; i < (item + 1) * per; i++) {
                    assertEquals(g[i] * factor, actual[i], 1e-5);
                }
            }
        }
    }

    private static double std(float[] x, int from, int n) {
        double mean = 0;
        for (int i = from; i < from + n; i++) {
            mean += x[i];
        }
        mean /= n;
        double ss = 0;
        for (int i = from; i < from + n; i++) {
            ss += (x[i] - mean) * (x[i] - mean);
        }
        return Math.sqrt(ss / (n - 1));
    }
}
