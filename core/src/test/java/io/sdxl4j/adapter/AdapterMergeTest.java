// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.sdxl4j.tensor.DataType;
import org.junit.jupiter.api.Test;

/** The addition of a delta into a weight in each of the initializer layouts. */
class AdapterMergeTest {

    @Test
    void aDeltaAddsIntoAMatMulWeightTransposedAtSizesThatAreNoMultipleOfTheTile() {
        int out = 130;
        int in = 70;
        float[] delta = new float[out * in]; // torch layout [out, in]
        for (int k = 0; k < delta.length; k++) {
            delta[k] = k * 0.001f - 3;
        }
        float[] weights = new float[in * out]; // the initializer's [in, out]
        for (int k = 0; k < weights.length; k++) {
            weights[k] = (k % 7) * 0.5f;
        }
        float[] expected = weights.clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                expected[i * out + o] += 0.75f * delta[o * in + i];
            }
        }
        OnnxModel.Weight w = new OnnxModel.Weight("m", "n", "MatMul", OnnxModel.Layout.IN_OUT, "w",
                DataType.FLOAT32, new long[] {in, out});
        AdapterMerge.add(weights, w, delta, 0.75f);
        assertArrayEquals(expected, weights);
    }

    @Test
    void aDeltaAddsElementwiseIntoAWeightInTorchLayout() {
        float[] weights = {1, 2, 3, 4, 5, 6};
        OnnxModel.Weight w = new OnnxModel.Weight("m", "n", "Gemm", OnnxModel.Layout.OUT_IN, "w",
                DataType.FLOAT32, new long[] {2, 3});
        AdapterMerge.add(weights, w, new float[] {1, 1, 1, -1, -1, -1}, 2);
        assertArrayEquals(new float[] {3, 4, 5, 2, 3, 4}, weights);
    }
}
