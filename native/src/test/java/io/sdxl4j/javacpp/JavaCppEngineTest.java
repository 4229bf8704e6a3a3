// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import org.junit.jupiter.api.Test;

class JavaCppEngineTest {

    @Test
    void isFoundByNameThroughTheServiceLoader() {
        assertTrue(Engines.available().containsAll(java.util.List.of("ort", "javacpp")), Engines.available().toString());
        try (Engine e = Engines.create(PipelineOptions.builder().engine("javacpp").build())) {
            assertEquals(JavaCppEngine.class, e.getClass());
            assertTrue(e.describe().contains("IOBinding"), e.describe());
        }
    }

    @Test
    void theCpuBuildHasTheCpuProvider() {
        assertTrue(JavaCppEngine.availableProviders().contains("CPUExecutionProvider"),
                JavaCppEngine.availableProviders().toString());
        assertTrue(JavaCppEngine.runtimeVersion().matches("\\d+\\.\\d+\\.\\d+.*"), JavaCppEngine.runtimeVersion());
    }

    @Test
    void aMissingProviderNamesTheBuildThatHasIt() {
        SdxlException cuda = assertThrows(SdxlException.class, () -> JavaCppEngine.requireProvider(
                ExecutionProvider.cuda().withCudaGraph(true), java.util.List.of("CPUExecutionProvider")));
        assertTrue(cuda.getMessage().startsWith("provider: CUDA needs ONNX Runtime's CUDAExecutionProvider"),
                cuda.getMessage());
        assertTrue(cuda.getMessage().contains("linux-x86_64-gpu"), cuda.getMessage());
        SdxlException trt = assertThrows(SdxlException.class, () -> JavaCppEngine.requireProvider(
                ExecutionProvider.tensorRt(), java.util.List.of("CPUExecutionProvider", "CUDAExecutionProvider")));
        assertTrue(trt.getMessage().contains("onnxruntime_gpu"), trt.getMessage());
        JavaCppEngine.requireProvider(ExecutionProvider.cuda(),
                java.util.List.of("CPUExecutionProvider", "CUDAExecutionProvider"));
    }
}
