// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Bindings;
import io.sdxl4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Allocator;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * An {@code IoBinding} made once per generation shape. Each graph tensor is an {@code OrtValue} at
 * a fixed address: on the CPU the caller's host memory itself (ONNX Runtime reads the inputs and
 * writes the outputs in place); on CUDA a device twin that each run fills from the host tensor
 * before and copies back after. A run allocates nothing.
 */
final class JavaCppBinding implements Binding {

    private final Session session;
    private final String label;
    private final MemoryInfo hostMemory;
    private final Allocator deviceAllocator;
    private final IoBinding io;
    private final RunOptions runOptions;
    private final List<Runnable> before = new ArrayList<>();
    private final List<Runnable> after = new ArrayList<>();
    private final List<DeviceCopy> uploads = new ArrayList<>();
    private final List<DeviceCopy> downloads = new ArrayList<>();
    private final List<AutoCloseable> owned = new ArrayList<>();
    private boolean closed;

    /** A host tensor and its device twin. */
    private record DeviceCopy(Pointer host, Pointer device, long bytes) {
    }

    JavaCppBinding(Session session, String label, MemoryInfo hostMemory, Allocator deviceAllocator) {
        this.session = session;
        this.label = label;
        this.hostMemory = hostMemory;
        this.deviceAllocator = deviceAllocator;
        this.io = own(new IoBinding(session));
        this.runOptions = own(new RunOptions());
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    void bindInput(String name, Bindings.Adapted tensor) {
        if (tensor.converted()) {
            own(tensor.bound());
            before.add(tensor.convert());
        }
        try {
            io.BindInput(name, value(tensor.bound(), true));
        } catch (RuntimeException e) {
            throw new SdxlException(label + ": cannot bind input `" + name + "`: " + e.getMessage(), e);
        }
    }

    void bindOutput(String name, Bindings.Adapted tensor) {
        if (tensor.converted()) {
            own(tensor.bound());
            after.add(tensor.convert());
        }
        try {
            io.BindOutput(name, value(tensor.bound(), false));
        } catch (RuntimeException e) {
            throw new SdxlException(label + ": cannot bind output `" + name + "`: " + e.getMessage(), e);
        }
    }

    /** The OrtValue ONNX Runtime sees for {@code t}: over its memory, or a device twin of it. */
    private Value value(HostTensor t, boolean input) {
        long[] shape = t.shape();
        int type = Natives.elementType(t.dataType());
        // A scalar has rank 0 but the shape pointer must still be valid.
        LongPointer dims = own(new LongPointer(Math.max(shape.length, 1)));
        if (shape.length > 0) {
            dims.put(shape);
        }
        Pointer host = own(new Pointer(t.byteBuffer()));
        long bytes = t.byteBuffer().remaining();
        if (deviceAllocator == null) {
            return own(Value.CreateTensor(hostMemory.asOrtMemoryInfo(), host, bytes, dims, shape.length, type));
        }
        Value device = own(Value.CreateTensor(deviceAllocator.asOrtAllocator(), dims, shape.length, type));
        DeviceCopy copy = new DeviceCopy(host, device.GetTensorMutableRawData(), bytes);
        (input ? uploads : downloads).add(copy);
        return device;
    }

    @Override
    public void run() {
        if (closed) {
            throw new IllegalStateException(label + ": binding closed");
        }
        for (int i = 0; i < before.size(); i++) {
            before.get(i).run();
        }
        for (int i = 0; i < uploads.size(); i++) {
            DeviceCopy c = uploads.get(i);
            CudaCopies.toDevice(c.device(), c.host(), c.bytes());
        }
        if (!uploads.isEmpty()) {
            CudaCopies.synchronize();
        }
        try {
            session.Run(runOptions, io);
            if (!downloads.isEmpty()) {
                io.SynchronizeOutputs();
            }
        } catch (RuntimeException e) {
            throw new SdxlException(label + ": inference failed: " + e.getMessage(), e);
        }
        for (int i = 0; i < downloads.size(); i++) {
            DeviceCopy c = downloads.get(i);
            CudaCopies.toHost(c.host(), c.device(), c.bytes());
        }
        for (int i = 0; i < after.size(); i++) {
            after.get(i).run();
        }
    }

    /** Releases the binding, its OrtValues (device twins freed to the allocator) and shadows; may be called twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Natives.closeAll(owned);
    }
}
