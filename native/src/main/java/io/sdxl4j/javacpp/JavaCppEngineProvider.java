// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineProvider;

/** Registers {@link JavaCppEngine} as {@code javacpp}. */
public final class JavaCppEngineProvider implements EngineProvider {

    @Override
    public String name() {
        return JavaCppEngine.NAME;
    }

    @Override
    public Engine create(PipelineOptions options) {
        return new JavaCppEngine(options);
    }
}
