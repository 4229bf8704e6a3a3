// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * The number format the models compute in ({@link PipelineOptions#precision()}). The export's
 * weights are converted when the model opens; the export's files never change. Speed and image
 * error against fp32 are measured in bench/RESULTS.md ("Precision", "fp16 conversion").
 */
public enum Precision {
    /** The export's own format (float32 for an fp32 export): the conformance reference. The default. */
    FP32,
    /**
     * An fp32 export's UNet converted to float16 at load, its inputs and outputs still float32; the
     * text encoders (two calls per image) and the VAE (SDXL's overflows in float16) kept in float32.
     * For GPUs: ONNX Runtime's CPU has float16 kernels for few operators and runs the rest through
     * casts.
     */
    FP16,
    /**
     * The UNet's linear layers in int8: every {@code MatMul} weight quantized symmetric per output
     * column, activations quantized per call (ONNX Runtime's {@code DynamicQuantizeMatMul}, on the
     * CPU's AMX or VNNI integer units); convolutions, attention and normalization stay float32.
     * CPU only; faster on CPUs with AMX or AVX-512 VNNI, within a few levels of 255 of the fp32
     * image; not with LoRA adapters (their merged weights are float32). The converted graph is kept
     * in the optimized-model cache when {@link PipelineOptions#optimizedModelCache()} is set.
     */
    INT8,
    /**
     * {@link #INT8}, and the UNet's convolutions too ({@code ConvInteger}, weights per output
     * channel): the fastest on the CPU, with a larger image error.
     */
    INT8_CONV;

    /** True when the UNet's weights are converted to int8. */
    public boolean int8() {
        return this == INT8 || this == INT8_CONV;
    }
}
