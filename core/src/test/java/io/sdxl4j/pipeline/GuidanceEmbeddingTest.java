// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GuidanceEmbeddingTest {

    @Test
    void isTheSinusoidalEmbeddingOfAThousandTimesWMinusOne() {
        float[] e = GuidanceEmbedding.of(8.5, 256);
        assertEquals(256, e.length);
        double w = 7500;
        double step = Math.log(10000) / 127;
        for (int i = 0; i < 128; i += 17) {
            assertEquals(Math.sin(w * Math.exp(-i * step)), e[i], 2e-3, "sin " + i);
            assertEquals(Math.cos(w * Math.exp(-i * step)), e[128 + i], 2e-3, "cos " + i);
        }
    }

    @Test
    void guidanceOneEmbedsAsZeroAngle() {
        float[] e = GuidanceEmbedding.of(1.0, 8);
        for (int i = 0; i < 4; i++) {
            assertEquals(0f, e[i]);
            assertEquals(1f, e[4 + i]);
        }
    }
}
