// SPDX-License-Identifier: Apache-2.0

/**
 * sdxl4j: Stable Diffusion XL from ONNX exports, matching Hugging Face diffusers.
 *
 * <p>The API is the package {@code io.sdxl4j}: {@link io.sdxl4j.SdxlPipeline}, its
 * {@link io.sdxl4j.PipelineOptions}, the {@link io.sdxl4j.GenerationRequest} and its parts, the
 * results, the progress listener and the exceptions. The engine SPI ({@code io.sdxl4j.engine},
 * with the tensors it trades in, {@code io.sdxl4j.tensor}) is exported only to the modules of
 * sdxl4j that implement engines; everything else is internal.
 */
module io.sdxl4j.core {
    requires transitive java.desktop;
    requires com.fasterxml.jackson.databind;
    requires com.google.protobuf;
    requires com.microsoft.onnxruntime;
    requires org.slf4j;

    exports io.sdxl4j;
    exports io.sdxl4j.engine to io.sdxl4j.javacpp;
    exports io.sdxl4j.random to io.sdxl4j.javacpp;
    exports io.sdxl4j.tensor to io.sdxl4j.javacpp, io.sdxl4j.conformance;

    uses io.sdxl4j.engine.EngineProvider;

    provides io.sdxl4j.engine.EngineProvider with io.sdxl4j.engine.OrtEngineProvider;
}
