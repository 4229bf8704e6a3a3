// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.TensorOps;
import java.nio.file.Path;
import java.util.Map;

/**
 * An inference engine: opens ONNX files as sessions and supplies the arithmetic of the latent
 * loop for its tensors. Engines are found by name through {@link EngineProvider} and
 * {@code ServiceLoader}; core ships {@code ort} (ONNX Runtime Java), the native module adds
 * {@code javacpp}. An engine owns its sessions' shared resources; closing it after its sessions
 * is the caller's job.
 */
public interface Engine extends AutoCloseable {

    /** The engine's registered name. */
    String name();

    /**
     * Opens an ONNX model.
     *
     * @param file  the {@code .onnx} file (external data beside it)
     * @param label the component and file for messages, e.g. {@code unet/model.onnx}
     * @throws io.sdxl4j.SdxlException naming {@code label} when the file is missing or does not load
     */
    EngineSession open(Path file, String label);

    /**
     * Opens an ONNX model with some of its initializers replaced at session creation (merged
     * adapter weights, a grown token embedding); the file is not rewritten. Each tensor replaces
     * the initializer of its name, embedded or external, and may have another shape (the graph
     * must still compute with it). Ownership of the tensors passes to the engine with the call:
     * the session keeps their memory alive and frees it when it closes, and a failed open frees
     * it at once. A replaced model bypasses the optimized-model cache (an optimized graph may have
     * renamed or fused the initializers, and its entry would hold the replaced weights).
     *
     * @param initializers initializer name to its replacement; empty: the same as {@link #open(Path, String)}
     * @throws io.sdxl4j.SdxlException naming {@code label} when the file does not load or a
     *                                 replacement does not fit
     */
    default EngineSession open(Path file, String label, Map<String, HostTensor> initializers) {
        if (initializers.isEmpty()) {
            return open(file, label);
        }
        initializers.values().forEach(HostTensor::close);
        throw new UnsupportedOperationException(label + ": engine '" + name() + "' cannot replace initializers");
    }

    /** The element-wise operations on this engine's tensors. */
    TensorOps ops();

    /** A one-line description of the engine, its runtime version and provider, for logs. */
    String describe();

    @Override
    void close();
}
