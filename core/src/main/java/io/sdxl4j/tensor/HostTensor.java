// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * A tensor in off-heap host memory (native byte order), usable as a zero-copy ONNX Runtime input
 * or output. A tensor made by {@link #allocate} owns its memory and frees it on {@link #close()};
 * a {@link #slice} is a view that shares its parent's memory and must not outlive it.
 */
public final class HostTensor implements Tensor, AutoCloseable {

    private final DataType dataType;
    private final long[] shape;
    private final NativeMemory memory;
    private final HostTensor parent;
    private final ByteBuffer bytes;
    // One typed view per tensor, made once, so that the loop's element-wise work allocates nothing.
    private final java.nio.Buffer view;
    private boolean closed;

    private HostTensor(DataType dataType, long[] shape, NativeMemory memory, HostTensor parent, ByteBuffer bytes) {
        this.dataType = dataType;
        this.shape = shape;
        this.memory = memory;
        this.parent = parent;
        this.bytes = bytes.order(ByteOrder.nativeOrder());
        this.view = switch (dataType) {
            case FLOAT32 -> this.bytes.asFloatBuffer();
            case FLOAT16 -> this.bytes.asShortBuffer();
            case INT64 -> this.bytes.asLongBuffer();
            case INT32 -> this.bytes.asIntBuffer();
        };
    }

    /** Allocates a zeroed tensor. */
    public static HostTensor allocate(DataType dataType, long... shape) {
        long count = Shapes.elementCount(shape);
        NativeMemory memory = NativeMemory.allocate(Math.multiplyExact(count, (long) dataType.bytes()));
        return new HostTensor(dataType, shape.clone(), memory, null, memory.buffer());
    }

    /** Allocates a zeroed float32 tensor. */
    public static HostTensor floats(long... shape) {
        return allocate(DataType.FLOAT32, shape);
    }

    /** Allocates a float32 tensor holding {@code values}. */
    public static HostTensor of(float[] values, long... shape) {
        HostTensor t = floats(shape);
        if (values.length != t.elementCount()) {
            throw new IllegalArgumentException("values: " + values.length + " elements for shape "
                    + Shapes.format(shape));
        }
        t.floatBuffer().put(0, values);
        return t;
    }

    @Override
    public DataType dataType() {
        return dataType;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** One dimension of the shape. */
    public long dim(int axis) {
        return shape[axis];
    }

    public int rank() {
        return shape.length;
    }

    @Override
    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    /** Element count as an int (host tensors are below 2 GiB). */
    public int size() {
        return (int) Shapes.elementCount(shape);
    }

    /** The raw bytes, position 0, limit at the end of the tensor. Shares memory with the tensor. */
    public ByteBuffer byteBuffer() {
        checkOpen();
        return bytes.duplicate().order(ByteOrder.nativeOrder());
    }

    /**
     * The float view of a FLOAT32 tensor, shared by every caller: use absolute {@code get(i)} and
     * {@code put(i, v)} only, never the position.
     */
    public FloatBuffer floatBuffer() {
        requireType(DataType.FLOAT32);
        return (FloatBuffer) view;
    }

    /** The shared view of a FLOAT16 tensor's half-precision bits (absolute access only). */
    public ShortBuffer halfBuffer() {
        requireType(DataType.FLOAT16);
        return (ShortBuffer) view;
    }

    /** The shared view of an INT64 tensor (absolute access only). */
    public LongBuffer longBuffer() {
        requireType(DataType.INT64);
        return (LongBuffer) view;
    }

    /** The shared view of an INT32 tensor (absolute access only). */
    public IntBuffer intBuffer() {
        requireType(DataType.INT32);
        return (IntBuffer) view;
    }

    /** Copies a FLOAT32 tensor's elements to a new array. */
    public float[] toFloatArray() {
        float[] out = new float[size()];
        floatBuffer().get(0, out);
        return out;
    }

    /**
     * A view of rows {@code [from, to)} along the first axis. The view shares memory with this
     * tensor, is invalid once this tensor is closed, and closing it does nothing.
     */
    public HostTensor slice(long from, long to) {
        checkOpen();
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IllegalArgumentException("slice [" + from + ", " + to + ") of shape " + Shapes.format(shape));
        }
        long rowBytes = Shapes.elementCount(shape) / Math.max(shape[0], 1) * dataType.bytes();
        ByteBuffer view = bytes.slice((int) (from * rowBytes), (int) ((to - from) * rowBytes));
        return new HostTensor(dataType, Shapes.withBatch(shape, to - from), null, this, view);
    }

    /** A view with another shape of the same element count; shares memory like {@link #slice}. */
    public HostTensor reshape(long... newShape) {
        checkOpen();
        if (Shapes.elementCount(newShape) != Shapes.elementCount(shape)) {
            throw new IllegalArgumentException("reshape " + Shapes.format(shape) + " to " + Shapes.format(newShape));
        }
        return new HostTensor(dataType, newShape.clone(), null, this, bytes.duplicate());
    }

    /** Copies {@code source} (same type and element count) into this tensor. */
    public void copyFrom(HostTensor source) {
        if (source.dataType != dataType || source.size() != size()) {
            throw new IllegalArgumentException("copy " + source + " into " + this);
        }
        byteBuffer().put(source.byteBuffer());
    }

    /** Sets every byte to zero. */
    public void zero() {
        ByteBuffer b = byteBuffer();
        long n = b.remaining();
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            b.putLong(i, 0L);
        }
        for (; i < n; i++) {
            b.put(i, (byte) 0);
        }
    }

    public boolean isClosed() {
        return closed || (parent != null && parent.isClosed());
    }

    /** Frees the memory of an owning tensor; does nothing for views; may be called twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (memory != null) {
            memory.close();
        }
    }

    private void requireType(DataType expected) {
        checkOpen();
        if (dataType != expected) {
            throw new IllegalStateException("tensor is " + dataType + ", not " + expected);
        }
    }

    private void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException("tensor " + Shapes.format(shape) + " used after close");
        }
    }

    @Override
    public String toString() {
        return "HostTensor[" + dataType + " " + Arrays.toString(shape) + "]";
    }
}
