// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sdxl4j.random.TorchGenerator;
import org.junit.jupiter.api.Test;

class HostTensorOpsTest {

    private final HostTensorOps ops = HostTensorOps.INSTANCE;

    @Test
    void combinesLinearlyInFloat() {
        try (HostTensor x = HostTensor.of(new float[] {1, 2, 3}, 3);
             HostTensor y = HostTensor.of(new float[] {10, 20, 30}, 3);
             HostTensor z = HostTensor.of(new float[] {100, 200, 300}, 3);
             HostTensor out = HostTensor.floats(3)) {
            ops.axpby(out, 2f, x, 0.5f, y);
            assertArrayEquals(new float[] {7, 14, 21}, out.toFloatArray());
            ops.axpbypcz(out, 1f, x, 1f, y, 1f, z);
            assertArrayEquals(new float[] {111, 222, 333}, out.toFloatArray());
            ops.linearCombination(out, new float[] {1, 1, 1, -1}, new HostTensor[] {x, y, z, x}, 4);
            assertArrayEquals(new float[] {110, 220, 330}, out.toFloatArray());
            ops.scale(out, -1f, out);
            assertArrayEquals(new float[] {-110, -220, -330}, out.toFloatArray());
            ops.clamp(out, out, -250f, -200f);
            assertArrayEquals(new float[] {-200, -220, -250}, out.toFloatArray());
        }
    }

    @Test
    void rejectsOperandsOfDifferentSizes() {
        try (HostTensor a = HostTensor.floats(3); HostTensor b = HostTensor.floats(4)) {
            assertThrows(IllegalArgumentException.class, () -> ops.axpby(a, 1, a, 1, b));
        }
    }

    @Test
    void stdPerItemUsesBesselsCorrectionLikeTorch() {
        try (HostTensor t = HostTensor.of(new float[] {1, 2, 3, 4, 10, 10, 10, 10}, 2, 4)) {
            double[] std = new double[2];
            ops.stdPerItem(t, std);
            assertEquals(Math.sqrt(5.0 / 3.0), std[0], 1e-12);
            assertEquals(0.0, std[1], 0.0);
        }
    }

    @Test
    void randnFillsFromTheNoiseSource() {
        try (HostTensor t = HostTensor.floats(1, 4, 2, 2)) {
            ops.randn(t, new TorchGenerator(3));
            assertArrayEquals(new TorchGenerator(3).randn(16), t.toFloatArray());
        }
    }
}
