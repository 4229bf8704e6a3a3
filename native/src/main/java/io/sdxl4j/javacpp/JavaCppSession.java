// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TYPE_TENSOR;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtDeviceAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Bindings;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.Allocator;
import org.bytedeco.onnxruntime.ConstTensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TypeInfo;

/**
 * One ONNX Runtime C++ session with its options. On the CPU a binding points ONNX Runtime at the
 * caller's host tensors; on CUDA (and TensorRT) each bound tensor gets a device twin from the
 * session's CUDA allocator, so the graph's inputs and outputs stay at fixed device addresses.
 */
final class JavaCppSession implements EngineSession {

    private final Session session;
    private final String label;
    /** The session's options, made before it. */
    private final List<Pointer> options;
    /** Memory infos and the device allocator, made after it and released before it. */
    private final List<Pointer> handles = new ArrayList<>();
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final MemoryInfo hostMemory;
    /** The allocator of device twins; null on the CPU. */
    private final Allocator deviceAllocator;
    private boolean closed;

    JavaCppSession(Session session, String label, ExecutionProvider provider, List<Pointer> owned) {
        this.session = session;
        this.label = label;
        this.options = new ArrayList<>(owned);
        this.inputs = specs(session, true);
        this.outputs = specs(session, false);
        this.hostMemory = own(MemoryInfo.CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault));
        int device = switch (provider) {
            case ExecutionProvider.Cpu cpu -> -1;
            case ExecutionProvider.Cuda cuda -> cuda.deviceId();
            case ExecutionProvider.TensorRt trt -> trt.deviceId();
        };
        if (device >= 0) {
            MemoryInfo cuda = own(new MemoryInfo("Cuda", OrtDeviceAllocator, device, OrtMemTypeDefault));
            this.deviceAllocator = own(new Allocator(session, cuda.asOrtMemoryInfo()));
        } else {
            this.deviceAllocator = null;
        }
    }

    private <T extends Pointer> T own(T p) {
        handles.add(p);
        return p;
    }

    @Override
    public String label() {
        return label;
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    /** True when bindings keep their tensors in device memory (CUDA, TensorRT). */
    boolean deviceResident() {
        return deviceAllocator != null;
    }

    @Override
    public Binding bind(Map<String, HostTensor> in, Map<String, HostTensor> out) {
        checkOpen();
        Bindings.requireComplete(this, in, out);
        JavaCppBinding binding = new JavaCppBinding(session, label, hostMemory, deviceAllocator);
        try {
            for (Map.Entry<String, HostTensor> e : in.entrySet()) {
                TensorSpec spec = Bindings.spec(this, e.getKey(), true);
                binding.bindInput(spec.name(), Bindings.adapt(label, spec, e.getValue(), true));
            }
            for (Map.Entry<String, HostTensor> e : out.entrySet()) {
                TensorSpec spec = Bindings.spec(this, e.getKey(), false);
                binding.bindOutput(spec.name(), Bindings.adapt(label, spec, e.getValue(), false));
            }
            return binding;
        } catch (RuntimeException e) {
            binding.close();
            throw e;
        }
    }

    private static List<TensorSpec> specs(Session session, boolean input) {
        List<TensorSpec> specs = new ArrayList<>();
        try (StringVector names = input ? session.GetInputNames() : session.GetOutputNames()) {
            for (long i = 0; i < names.size(); i++) {
                String name = names.get(i).getString();
                try (TypeInfo info = input ? session.GetInputTypeInfo(i) : session.GetOutputTypeInfo(i)) {
                    if (info.GetONNXType() != ONNX_TYPE_TENSOR) {
                        specs.add(new TensorSpec(name, null, new long[0], List.of()));
                        continue;
                    }
                    ConstTensorTypeAndShapeInfo t = info.GetTensorTypeAndShapeInfo();
                    int rank = (int) t.GetDimensionsCount();
                    long[] shape = new long[rank];
                    List<String> dimNames = new ArrayList<>(Collections.nCopies(rank, ""));
                    if (rank > 0) {
                        t.GetDimensions(shape, rank);
                        try (PointerPointer<BytePointer> symbolic = new PointerPointer<>(rank)) {
                            t.GetSymbolicDimensions(symbolic, rank);
                            for (int d = 0; d < rank; d++) {
                                BytePointer s = symbolic.get(BytePointer.class, d);
                                dimNames.set(d, s == null || s.isNull() ? "" : s.getString());
                            }
                        }
                    }
                    specs.add(new TensorSpec(name, Natives.dataType(t.GetElementType()), shape, dimNames));
                }
            }
        }
        return List.copyOf(specs);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(label + ": session closed");
        }
    }

    /** Frees the native session, then its options and allocators. Close bindings first. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<Pointer> all = new ArrayList<>(options);
        all.add(session);
        all.addAll(handles);
        Natives.closeAll(all);
    }
}
