// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One loaded ONNX model. Inputs and outputs are bound once per shape ({@link #bind}) to tensors
 * that the caller allocated and keeps; each {@link Binding#run()} then reads the inputs' current
 * contents and writes the outputs in place, so the denoising loop allocates nothing per step.
 */
public interface EngineSession extends AutoCloseable {

    /** The component and file, e.g. {@code unet/model.onnx}. */
    String label();

    /** The graph inputs, in declaration order. */
    List<TensorSpec> inputs();

    /** The graph outputs, in declaration order. */
    List<TensorSpec> outputs();

    /** The named input, if the graph has one. */
    default Optional<TensorSpec> input(String name) {
        return inputs().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** The named output, if the graph has one. */
    default Optional<TensorSpec> output(String name) {
        return outputs().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /**
     * Binds tensors to graph inputs and to the outputs to compute: host tensors, or tensors of the
     * engine's own {@link Engine#ops()} (device memory). A float32 tensor may be bound to a float16
     * graph tensor (and int64 to int32): the binding converts at each run.
     *
     * @throws IllegalArgumentException naming the tensor when a name is unknown, a shape does not
     *                                  fit the declaration or the engine cannot bind that kind of tensor
     */
    Binding bind(Map<String, ? extends Tensor> inputs, Map<String, ? extends Tensor> outputs);

    @Override
    void close();
}
