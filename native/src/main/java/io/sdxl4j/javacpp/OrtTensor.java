// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Shapes;
import io.sdxl4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Allocator;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.Value;

/**
 * A tensor in memory ONNX Runtime allocated for the engine's provider (device memory on CUDA), as
 * an {@code OrtValue} that sessions bind directly. An owning tensor frees its memory on
 * {@link #close()}; a view ({@link #view}) shares its parent's memory, is made once per offset and
 * shape and kept by the parent, and closing it does nothing.
 *
 * <p>The tensor also keeps what {@link OrtTensorOps} needs to run without allocating: the kernel
 * bindings that write it, a host staging buffer, and the address of the last host tensor it was
 * copied from or to.
 */
final class OrtTensor implements Tensor {

    private final DataType type;
    private final long[] shape;
    private final long count;
    private final long bytes;
    private final Value value;
    private final Pointer data;
    private final OrtTensor parent;
    private final long offsetElements;
    private final List<OrtTensor> views = new ArrayList<>();
    /** Kernel bindings whose output is this tensor; see {@link OrtTensorOps}. */
    final List<AutoCloseable> writers = new ArrayList<>();
    /** Kernel bindings that read this tensor: closed with it, so that none keeps its memory alive. */
    final List<AutoCloseable> readers = new ArrayList<>();
    /** The live owning tensors of the engine, which closes the ones still open when it closes. */
    private final Set<OrtTensor> registry;
    /** The queue of the engine's copies, which must not touch this memory after it is freed. */
    private final DeviceMemory transfers;
    private HostTensor staging;
    private HostTensor lastHost;
    private Pointer lastHostPointer;
    private boolean closed;

    private OrtTensor(DataType type, long[] shape, Value value, OrtTensor parent, long offsetElements,
                      Set<OrtTensor> registry, DeviceMemory transfers) {
        this.registry = registry;
        this.transfers = transfers;
        this.type = type;
        this.shape = shape;
        this.count = Shapes.elementCount(shape);
        this.bytes = count * type.bytes();
        this.value = value;
        this.data = value.GetTensorMutableRawData();
        this.parent = parent;
        this.offsetElements = offsetElements;
    }

    /**
     * A new tensor from {@code allocator}, its contents undefined, listed in {@code registry} until
     * closed; {@code transfers} is told before its memory is freed.
     */
    static OrtTensor allocate(Allocator allocator, DataType type, long[] shape, Set<OrtTensor> registry,
                              DeviceMemory transfers) {
        try (LongPointer dims = dims(shape)) {
            Value v = Value.CreateTensor(allocator.asOrtAllocator(), dims, shape.length, Natives.elementType(type));
            OrtTensor t = new OrtTensor(type, shape.clone(), v, null, 0, registry, transfers);
            registry.add(t);
            return t;
        }
    }

    /**
     * The view of {@code count(shape)} elements from element {@code offset} of this tensor's
     * memory: the same object for the same offset and shape.
     */
    OrtTensor view(MemoryInfo memory, long offset, long[] shape) {
        checkOpen();
        if (parent != null) {
            return parent.view(memory, offsetElements + offset, shape);
        }
        long count = Shapes.elementCount(shape);
        if (offset < 0 || offset + count > elementCount()) {
            throw new IllegalArgumentException("view of " + count + " elements at " + offset + " of " + this);
        }
        for (int i = 0; i < views.size(); i++) {
            OrtTensor v = views.get(i);
            if (v.offsetElements == offset && Arrays.equals(v.shape, shape)) {
                return v;
            }
        }
        try (LongPointer dims = dims(shape)) {
            // A pointer into this tensor's memory (not closed: a copy shares the owner's deallocator).
            BytePointer at = new BytePointer(data).position(offset * type.bytes());
            Value v = Value.CreateTensor(memory.asOrtMemoryInfo(), at, count * type.bytes(), dims, shape.length,
                    Natives.elementType(type));
            OrtTensor view = new OrtTensor(type, shape.clone(), v, this, offset, registry, transfers);
            views.add(view);
            return view;
        }
    }

    private static LongPointer dims(long[] shape) {
        // A scalar has rank 0, but the shape pointer must still be valid.
        LongPointer dims = new LongPointer(Math.max(shape.length, 1));
        if (shape.length > 0) {
            dims.put(shape);
        }
        return dims;
    }

    @Override
    public DataType dataType() {
        return type;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public long elementCount() {
        return count;
    }

    /** The shape itself, for the engine's checks (not copied; do not modify). */
    long[] dims() {
        return shape;
    }

    long bytes() {
        return bytes;
    }

    /** The OrtValue sessions bind. */
    Value value() {
        checkOpen();
        return value;
    }

    /** The address of the first element. */
    Pointer data() {
        checkOpen();
        return data;
    }

    /** A host tensor of this type and shape, made once, for draws made on the host. */
    HostTensor staging() {
        if (staging == null) {
            staging = HostTensor.allocate(type, shape);
        }
        return staging;
    }

    /** The address of a host tensor's memory, remembered for the last one (the loop's are the same each step). */
    Pointer hostPointer(HostTensor host) {
        if (host != lastHost) {
            lastHostPointer = new Pointer(host.byteBuffer());
            lastHost = host;
        }
        return lastHostPointer;
    }

    boolean isClosed() {
        return closed || (parent != null && parent.isClosed());
    }

    private void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException("tensor " + Shapes.format(shape) + " used after close");
        }
    }

    /** Frees an owning tensor (its views and kernel bindings first); does nothing for a view; may be called twice. */
    @Override
    public void close() {
        if (closed || parent != null) {
            return;
        }
        closed = true;
        registry.remove(this);
        for (OrtTensor v : views) {
            v.closeBindings();
            v.value.close();
        }
        views.clear();
        closeBindings();
        if (staging != null) {
            staging.close();
        }
        // Copies still queued into or out of this memory run before it goes (on the CPU; on CUDA the
        // arena reuses it in stream order).
        transfers.beforeFree();
        value.close();
    }

    /** Closes the kernel bindings that read or write this tensor (each removes itself from both lists). */
    private void closeBindings() {
        Natives.closeAll(new ArrayList<>(writers));
        Natives.closeAll(new ArrayList<>(readers));
        writers.clear();
        readers.clear();
    }

    @Override
    public String toString() {
        return "OrtTensor[" + type + " " + Arrays.toString(shape) + (parent != null ? " view" : "") + "]";
    }
}
