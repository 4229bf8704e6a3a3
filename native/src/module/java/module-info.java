// SPDX-License-Identifier: Apache-2.0

/**
 * The {@code javacpp} engine of sdxl4j: ONNX Runtime's C++ API through the JavaCPP presets —
 * IOBinding at fixed addresses, device-resident loops and CUDA graphs on CUDA. It registers itself
 * as an engine provider and exports nothing: select it with {@code PipelineOptions.engine("javacpp")}.
 *
 * <p>The preset's jar carries its own copy of {@code ai.onnxruntime}, the package of ONNX Runtime's
 * Java API that core's {@code ort} engine uses, so this module runs on the class path, in place of
 * Microsoft's ONNX Runtime jar (never beside it).
 */
module io.sdxl4j.javacpp {
    requires io.sdxl4j.core;
    requires org.bytedeco.javacpp;
    requires org.bytedeco.onnxruntime;
    requires org.bytedeco.cuda;
    requires org.slf4j;

    provides io.sdxl4j.engine.EngineProvider with io.sdxl4j.javacpp.JavaCppEngineProvider;
}
