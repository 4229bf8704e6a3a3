// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

/** Element types that cross the boundary to an inference engine. */
public enum DataType {
    FLOAT32(4),
    FLOAT16(2),
    INT64(8),
    INT32(4);

    private final int bytes;

    DataType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** True for the floating-point types. */
    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT16;
    }
}
