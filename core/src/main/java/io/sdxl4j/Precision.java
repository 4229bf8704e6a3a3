// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/** The numeric precision a pipeline's models run in ({@link PipelineOptions#precision()}). */
public enum Precision {
    /** The export as it is (float32 for an fp32 export). */
    FP32,
    /**
     * An fp32 export's UNet converted to float16 at load, its inputs and outputs still float32; the
     * text encoders (two calls per image) and the VAE (SDXL's overflows in float16) kept in float32.
     * For GPUs: ONNX Runtime's CPU has float16 kernels for few operators and runs the rest through
     * casts.
     */
    FP16
}
