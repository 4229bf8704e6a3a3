// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.sdxl4j.SdxlException;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An {@link OrtSession} with its options; binds host tensors zero-copy. */
final class OrtEngineSession implements EngineSession {

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String label;
    private final List<AutoCloseable> owned;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final boolean arenaShrinkage;
    private boolean closed;

    OrtEngineSession(OrtEnvironment env, OrtSession session, String label, List<AutoCloseable> owned,
                     boolean arenaShrinkage) throws OrtException {
        this.env = env;
        this.arenaShrinkage = arenaShrinkage;
        this.session = session;
        this.label = label;
        this.owned = new ArrayList<>(owned);
        this.inputs = specs(session.getInputInfo());
        this.outputs = specs(session.getOutputInfo());
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
        OrtBinding binding = new OrtBinding(session, label, arenaShrinkage);
        return Bindings.bindAll(this, in, out, binding, (spec, tensor, input) -> {
            OnnxTensor t = adapt(spec, Bindings.host(label, spec.name(), tensor), binding, input);
            if (input) {
                binding.addInput(spec.name(), t);
            } else {
                binding.addOutput(spec.name(), t);
            }
        });
    }

    /** An OnnxTensor over {@code tensor}, or over a converted shadow when the graph wants another type. */
    private OnnxTensor adapt(TensorSpec spec, HostTensor tensor, OrtBinding binding, boolean input) {
        Bindings.Adapted a = Bindings.adapt(label, spec, tensor, input);
        if (a.converted()) {
            binding.own(a.bound());
            if (input) {
                binding.beforeRun(a.convert());
            } else {
                binding.afterRun(a.convert());
            }
        }
        return binding.own(wrap(a.bound()));
    }

    private OnnxTensor wrap(HostTensor t) {
        try {
            return wrap(env, t);
        } catch (OrtException e) {
            throw new SdxlException(label + ": cannot create a tensor " + t + ": " + e.getMessage(), e);
        }
    }

    private static List<TensorSpec> specs(Map<String, NodeInfo> infos) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo n : new LinkedHashMap<>(infos).values()) {
            if (n.getInfo() instanceof TensorInfo t) {
                String[] names = t.getDimensionNames();
                specs.add(new TensorSpec(n.getName(), dataType(t.type), t.getShape(),
                        names == null ? Collections.nCopies(t.getShape().length, "")
                                : Arrays.stream(names).map(x -> x == null ? "" : x).toList()));
            } else {
                specs.add(new TensorSpec(n.getName(), null, new long[0], List.of()));
            }
        }
        return List.copyOf(specs);
    }

    private static DataType dataType(OnnxJavaType t) {
        return switch (t) {
            case FLOAT -> DataType.FLOAT32;
            case FLOAT16 -> DataType.FLOAT16;
            case INT64 -> DataType.INT64;
            case INT32 -> DataType.INT32;
            default -> null;
        };
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(label + ": session closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>();
        all.addAll(owned);
        all.add(session);
        OrtEngine.closeAll(all);
    }

    /** An ONNX Runtime tensor over a host tensor's memory (no copy): it is valid while {@code t} is open. */
    static OnnxTensor wrap(OrtEnvironment env, HostTensor t) throws OrtException {
        long[] shape = t.shape();
        return switch (t.dataType()) {
            case FLOAT32 -> OnnxTensor.createTensor(env, t.floatBuffer(), shape);
            case FLOAT16 -> OnnxTensor.createTensor(env, t.halfBuffer(), shape, OnnxJavaType.FLOAT16);
            case INT64 -> OnnxTensor.createTensor(env, t.longBuffer(), shape);
            case INT32 -> OnnxTensor.createTensor(env, t.intBuffer(), shape);
        };
    }
}
