// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.tensor.DataType;
import java.util.Arrays;
import java.util.List;

/**
 * An ONNX graph input or output as the model declares it.
 *
 * @param name     the tensor's name
 * @param dataType its element type, or null for a type sdxl4j does not handle
 * @param shape    its dimensions, -1 where symbolic
 * @param dimNames the symbolic names ("batch_size"), empty strings for fixed dimensions
 */
public record TensorSpec(String name, DataType dataType, long[] shape, List<String> dimNames) {

    public TensorSpec {
        shape = shape.clone();
        dimNames = List.copyOf(dimNames);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** The fixed size of one dimension, or -1 when symbolic. */
    public long dim(int axis) {
        return shape[axis];
    }

    /** The declared type and shape, e.g. {@code FLOAT32[batch_size,4,height,width]}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(dataType == null ? "unsupported" : dataType.name()).append('[');
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(shape[i] >= 0 ? Long.toString(shape[i]) : dimNames.get(i).isEmpty() ? "?" : dimNames.get(i));
        }
        return sb.append(']').toString();
    }

    @Override
    public String toString() {
        return name + ":" + describe();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && t.dataType == dataType
                && Arrays.equals(t.shape, shape) && t.dimNames.equals(dimNames);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
