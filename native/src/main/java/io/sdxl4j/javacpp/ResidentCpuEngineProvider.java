// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineProvider;

/**
 * The javacpp engine with the device path taken on the CPU ({@code javacpp-resident}): the loop's
 * tensors in ONNX Runtime's memory, the arithmetic through the kernel sessions, host tensors
 * through twins, exactly as on CUDA but for the copies. It gains nothing on a CPU, so the module
 * does not register it; its tests and the benchmarks do (in their own
 * {@code META-INF/services}), so that the conformance suite, the engine contract and JMH run the
 * device code on machines without a GPU.
 */
public final class ResidentCpuEngineProvider implements EngineProvider {

    static final String NAME = "javacpp-resident";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Engine create(PipelineOptions options) {
        return new JavaCppEngine(NAME, options, true);
    }
}
