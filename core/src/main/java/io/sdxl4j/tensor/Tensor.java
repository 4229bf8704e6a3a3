// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

/**
 * A dense tensor in C order, wherever its memory lives. {@link HostTensor} is the host-memory
 * kind; engines that keep data on an accelerator bring their own.
 */
public interface Tensor extends AutoCloseable {

    DataType dataType();

    /** The shape; the returned array is a copy. */
    long[] shape();

    /** Product of the shape's dimensions. */
    default long elementCount() {
        return Shapes.elementCount(shape());
    }

    /** Frees an owning tensor's memory; does nothing for a view; may be called twice. */
    @Override
    void close();
}
