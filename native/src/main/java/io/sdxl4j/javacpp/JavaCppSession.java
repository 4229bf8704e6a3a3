// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TYPE_TENSOR;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Bindings;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.ConstTensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TypeInfo;

/**
 * One ONNX Runtime C++ session with its options. On the CPU a binding points ONNX Runtime at the
 * caller's host tensors; with device-resident tensors ({@link OrtTensorOps}) it binds those
 * directly, and gives each host tensor a device twin, so that every input and output of the graph
 * stays at one fixed address in the provider's memory (what CUDA graphs need).
 */
final class JavaCppSession implements EngineSession {

    private final Session session;
    private final String label;
    /** The session's options (and any replacement initializers), made before it and released after it. */
    private final List<AutoCloseable> options;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final MemoryInfo hostMemory;
    /** The engine's device operations; null when the loop runs on host memory. */
    private final OrtTensorOps resident;
    /** Whether the session captures CUDA graphs; each binding then replays a graph of its own. */
    private final boolean cudaGraph;
    /** Whether every run shrinks the CPU arena ({@code PipelineOptions.arenaShrinkage()}). */
    private final boolean arenaShrinkage;
    private int graphs;
    private boolean closed;

    JavaCppSession(Session session, String label, OrtTensorOps resident, boolean cudaGraph, boolean arenaShrinkage,
                   List<? extends AutoCloseable> options) {
        this.session = session;
        this.arenaShrinkage = arenaShrinkage;
        this.label = label;
        this.options = new ArrayList<>(options);
        this.resident = resident;
        this.cudaGraph = cudaGraph;
        this.inputs = specs(session, true);
        this.outputs = specs(session, false);
        this.hostMemory = MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
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

    @Override
    public Binding bind(Map<String, ? extends Tensor> in, Map<String, ? extends Tensor> out) {
        checkOpen();
        // A CUDA graph records the addresses of one binding: each binding (generation shape) gets
        // its own graph id, so that a new shape captures a new graph instead of replaying another's.
        JavaCppBinding binding = new JavaCppBinding(session, label, hostMemory, resident,
                cudaGraph ? ++graphs : -1, arenaShrinkage);
        return Bindings.bindAll(this, in, out, binding, binding::bind);
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

    /** Frees the native session, then its options. Close bindings first. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        hostMemory.close();
        List<AutoCloseable> all = new ArrayList<>(options);
        all.add(session);
        Natives.closeAll(all);
    }
}
