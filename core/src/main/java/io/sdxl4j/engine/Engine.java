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
    default EngineSession open(Path file, String label) {
        return open(ModelSource.of(file), label);
    }

    /**
     * Opens an ONNX model: the file as it is, or a graph rewritten from it, with the source's
     * replacement initializers (owned by the session from the call on).
     *
     * @param label the component and file for messages, e.g. {@code unet/model.onnx}
     * @throws io.sdxl4j.SdxlException naming {@code label} when the file is missing or does not load
     */
    EngineSession open(ModelSource source, String label);

    /**
     * Opens an ONNX file with some of its initializers replaced at session creation; see
     * {@link ModelSource} for what the replacements may be and who owns them.
     */
    default EngineSession open(Path file, String label, Map<String, HostTensor> initializers) {
        return open(ModelSource.of(file).withInitializers(initializers), label);
    }

    /** The element-wise operations on this engine's tensors. */
    TensorOps ops();

    /** A one-line description of the engine, its runtime version and provider, for logs. */
    String describe();

    @Override
    void close();
}
