// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sdxl4j.SdxlException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Inputs and outputs of one ONNX Runtime session as OnnxTensors over caller-owned direct buffers:
 * ONNX Runtime reads the inputs in place and writes into the pinned outputs, so a run copies
 * nothing except where the graph's types differ from the caller's (fp16 exports).
 */
final class OrtBinding implements Binding {

    private final OrtSession session;
    private final String label;
    private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
    private final Map<String, OnnxTensor> outputs = new LinkedHashMap<>();
    private final List<Runnable> before = new ArrayList<>();
    private final List<Runnable> after = new ArrayList<>();
    private final List<AutoCloseable> owned = new ArrayList<>();
    /** The run options, when the pipeline sets any (arena shrinkage); null runs with ONNX Runtime's defaults. */
    private final OrtSession.RunOptions runOptions;
    private boolean closed;

    OrtBinding(OrtSession session, String label, boolean arenaShrinkage) {
        this.session = session;
        this.label = label;
        this.runOptions = arenaShrinkage ? own(OrtEngine.shrinkingRunOptions(label)) : null;
    }

    <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    void addInput(String name, OnnxTensor tensor) {
        inputs.put(name, tensor);
    }

    void addOutput(String name, OnnxTensor tensor) {
        outputs.put(name, tensor);
    }

    void beforeRun(Runnable conversion) {
        before.add(conversion);
    }

    void afterRun(Runnable conversion) {
        after.add(conversion);
    }

    @Override
    public void run() {
        if (closed) {
            throw new IllegalStateException(label + ": binding closed");
        }
        for (int i = 0; i < before.size(); i++) {
            before.get(i).run();
        }
        try (OrtSession.Result ignored = runOptions == null ? session.run(inputs, outputs)
                : session.run(inputs, Set.of(), outputs, runOptions)) {
            // Outputs are pinned: ONNX Runtime has written them into the bound tensors.
        } catch (OrtException e) {
            throw new SdxlException(label + ": inference failed: " + e.getMessage(), e);
        }
        for (int i = 0; i < after.size(); i++) {
            after.get(i).run();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        OrtEngine.closeAll(owned);
    }
}
