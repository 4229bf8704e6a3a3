// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * The number format the models compute in. The export's weights are converted once when the model
 * opens (kept in the optimized-model cache when {@link PipelineOptions#optimizedModelCache()} is
 * set, so a later open does not convert again); the export's files never change. Speed and image
 * error against fp32 are measured in bench/RESULTS.md ("Precision").
 */
public enum Precision {
    /** The export's own float32: the conformance reference. The default. */
    FP32,
    /**
     * The UNet's linear layers in int8: every {@code MatMul} weight quantized symmetric per output
     * column, activations quantized per call (ONNX Runtime's {@code DynamicQuantizeMatMul}, on the
     * CPU's AMX or VNNI integer units); convolutions, attention and normalization stay float32.
     * Faster on CPUs with AMX or AVX-512 VNNI, within a few levels of 255 of the fp32 image; not
     * with LoRA adapters (their merged weights are float32; see {@link PipelineOptions.Builder#loras}).
     */
    INT8,
    /**
     * {@link #INT8}, and the UNet's convolutions too ({@code ConvInteger}, weights per output
     * channel): the fastest on the CPU, with a larger image error.
     */
    INT8_CONV;

    /** True when the UNet's weights are converted to int8. */
    public boolean int8() {
        return this != FP32;
    }
}
