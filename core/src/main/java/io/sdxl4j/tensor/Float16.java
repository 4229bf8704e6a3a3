// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * IEEE 754 binary16 conversion for fp16 model exports, on the JDK's own conversions
 * ({@link Float#floatToFloat16}, round to nearest even; intrinsics on x86 with F16C).
 */
public final class Float16 {

    private Float16() {
    }

    /** Converts {@code count} floats to half precision. */
    public static void fromFloats(FloatBuffer src, ShortBuffer dst, int count) {
        for (int i = 0; i < count; i++) {
            dst.put(i, Float.floatToFloat16(src.get(i)));
        }
    }

    /** Converts {@code count} halves to single precision. */
    public static void toFloats(ShortBuffer src, FloatBuffer dst, int count) {
        for (int i = 0; i < count; i++) {
            dst.put(i, Float.float16ToFloat(src.get(i)));
        }
    }
}
