// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.engine.OnnxGraph;

/**
 * The element-wise arithmetic of the denoising loop as small ONNX graphs, run through ONNX
 * Runtime sessions on the engine's provider, so that device tensors never leave the device. Tensor
 * inputs are {@code x}, {@code y}, {@code z} (any rank: the bound values carry the shapes, and
 * ONNX broadcasting does the rest), float scalars {@code s0..s2}, the output {@code out}.
 *
 * <p>Each graph computes in float32 the same operations, in the same order, as
 * {@link io.sdxl4j.tensor.HostTensorOps}, so the device path rounds as the host path does.
 */
enum Kernel {
    /** {@code out = s0·x}. */
    SCALE(1, 1),
    /** {@code out = s0·x + s1·y}. */
    AXPBY(2, 2),
    /** {@code out = s0·x + s1·y + s2·z}. */
    AXPBYPCZ(3, 3),
    /** {@code out = x + s0·y} ({@code x} is the output: a running sum). */
    ACCUMULATE(2, 1),
    /** {@code out = (1 − z)·y + z·x}: inpainting's re-blend, {@code x} the latents, {@code y} the known region, {@code z} the mask. */
    BLEND(3, 0),
    /** {@code out = min(max(x, s0), s1)}. */
    CLIP(1, 2),
    /** {@code out[n] = mean((x[n] − mean(x[n]))²)} in float64 over every axis but the first, into host memory. */
    MEAN_SQUARED_DEVIATION(1, 0),
    /** {@code out = float16(x)}. */
    TO_HALF(1, 0),
    /** {@code out = float32(x)}. */
    TO_FLOAT(1, 0);

    static final String[] TENSOR_INPUTS = {"x", "y", "z"};
    static final String[] SCALAR_INPUTS = {"s0", "s1", "s2"};

    final int tensors;
    final int scalars;

    Kernel(int tensors, int scalars) {
        this.tensors = tensors;
        this.scalars = scalars;
    }

    /** The kernel's ONNX model. */
    byte[] model() {
        OnnxGraph g = new OnnxGraph();
        int inType = this == TO_FLOAT ? OnnxGraph.FLOAT16 : OnnxGraph.FLOAT;
        for (int i = 0; i < tensors; i++) {
            g.input(TENSOR_INPUTS[i], inType, OnnxGraph.ANY_SHAPE);
        }
        for (int i = 0; i < scalars; i++) {
            g.input(SCALAR_INPUTS[i], OnnxGraph.FLOAT);
        }
        int outType = switch (this) {
            case MEAN_SQUARED_DEVIATION -> OnnxGraph.DOUBLE;
            case TO_HALF -> OnnxGraph.FLOAT16;
            default -> OnnxGraph.FLOAT;
        };
        g.output("out", outType, OnnxGraph.ANY_SHAPE);
        switch (this) {
            case SCALE -> g.node("Mul", new String[] {"x", "s0"}, "out");
            case AXPBY -> g.node("Mul", new String[] {"x", "s0"}, "ax")
                    .node("Mul", new String[] {"y", "s1"}, "by")
                    .node("Add", new String[] {"ax", "by"}, "out");
            case AXPBYPCZ -> g.node("Mul", new String[] {"x", "s0"}, "ax")
                    .node("Mul", new String[] {"y", "s1"}, "by")
                    .node("Mul", new String[] {"z", "s2"}, "cz")
                    .node("Add", new String[] {"ax", "by"}, "axby")
                    .node("Add", new String[] {"axby", "cz"}, "out");
            case ACCUMULATE -> g.node("Mul", new String[] {"y", "s0"}, "wy")
                    .node("Add", new String[] {"x", "wy"}, "out");
            case BLEND -> g.scalar("one", 1f)
                    .node("Sub", new String[] {"one", "z"}, "keep_weight")
                    .node("Mul", new String[] {"keep_weight", "y"}, "kept")
                    .node("Mul", new String[] {"z", "x"}, "generated")
                    .node("Add", new String[] {"kept", "generated"}, "out");
            case CLIP -> g.node("Clip", new String[] {"x", "s0", "s1"}, "out");
            case MEAN_SQUARED_DEVIATION -> g.node("Flatten", new String[] {"x"}, "rows", "axis", 1L)
                    .node("Cast", new String[] {"rows"}, "rows64", "to", (long) OnnxGraph.DOUBLE)
                    .node("ReduceMean", new String[] {"rows64"}, "mean", "axes", new long[] {1}, "keepdims", 1L)
                    .node("Sub", new String[] {"rows64", "mean"}, "deviation")
                    .node("Mul", new String[] {"deviation", "deviation"}, "squared")
                    .node("ReduceMean", new String[] {"squared"}, "out", "axes", new long[] {1}, "keepdims", 0L);
            case TO_HALF -> g.node("Cast", new String[] {"x"}, "out", "to", (long) OnnxGraph.FLOAT16);
            case TO_FLOAT -> g.node("Cast", new String[] {"x"}, "out", "to", (long) OnnxGraph.FLOAT);
        }
        return g.toBytes();
    }
}
