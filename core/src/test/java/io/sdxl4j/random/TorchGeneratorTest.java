// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.TestData;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TorchGeneratorTest {

    static Stream<Arguments> references() {
        JsonNode refs = TestData.json(TestData.conformance().resolve("rng_refs.json"));
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : refs.path("cases")) {
            out.add(Arguments.of(c.path("op").asText() + " seed=" + c.path("seed").asLong() + " shape="
                    + c.path("shape"), c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("references")
    void drawsBitForBitWhatTorchDraws(String name, JsonNode c) throws IOException {
        Path dir = TestData.conformance();
        int count = 1;
        for (JsonNode d : c.path("shape")) {
            count *= d.asInt();
        }
        TorchGenerator g = new TorchGenerator(c.path("seed").asLong());
        float[] expected = Npy.readFloats(dir.resolve(c.path("file").asText())).data();
        float[] actual = new float[count];
        if (c.path("op").asText().equals("rand")) {
            g.rand(FloatBuffer.wrap(actual), count);
        } else {
            g.randn(FloatBuffer.wrap(actual), count);
        }
        assertBitsEqual(expected, actual, name);
        if (c.has("then_randn_5")) {
            // The next small draw checks the generator's state (and the cached normal) after the first.
            float[] next = Npy.readFloats(dir.resolve(c.path("then_randn_5").asText())).data();
            assertBitsEqual(next, g.randn(5), name + " then randn(5)");
        }
    }

    @Test
    void skippingADrawLeavesTheGeneratorWhereDrawingItWould() {
        for (int count : new int[] {5, 16, 17, 4096}) {
            TorchGenerator drawn = new TorchGenerator(7);
            drawn.randn(count);
            TorchGenerator skipped = new TorchGenerator(7);
            skipped.skipRandn(count);
            assertArrayEquals(drawn.randn(20), skipped.randn(20), "after a draw of " + count);
        }
    }

    @Test
    void seedsKeepTheirLow32BitsAsTorchDoes() {
        assertArrayEquals(new TorchGenerator(42).randn(20), new TorchGenerator(42L + (1L << 32)).randn(20));
    }

    @Test
    void firstOutputIsMersenneTwistersReferenceValue() {
        // mt19937 seeded with 5489 (the C++ default) yields 3499211612 first.
        assertEquals(3499211612L, new TorchGenerator(5489).nextUnsignedInt());
    }

    private static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int differ = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                if (first < 0) {
                    first = i;
                }
                differ++;
            }
        }
        assertEquals(0, differ, what + ": " + differ + " values differ, first at " + first
                + (first >= 0 ? " (" + expected[first] + " vs " + actual[first] + ")" : ""));
    }
}
