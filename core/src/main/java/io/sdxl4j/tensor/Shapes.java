// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import java.util.Arrays;

/** Small helpers for tensor shapes. */
public final class Shapes {

    private Shapes() {
    }

    /** Product of the dimensions (1 for a scalar). */
    public static long elementCount(long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape: negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The shape with its first dimension replaced. */
    public static long[] withBatch(long[] shape, long batch) {
        long[] copy = shape.clone();
        copy[0] = batch;
        return copy;
    }

    /** Formats a shape as diffusers and NumPy print it: {@code (1, 4, 128, 128)}. */
    public static String format(long... shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }
}
