// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.PipelineOptions;

/** Registers {@link OrtEngine} as {@code ort}. */
public final class OrtEngineProvider implements EngineProvider {

    @Override
    public String name() {
        return OrtEngine.NAME;
    }

    @Override
    public Engine create(PipelineOptions options) {
        return new OrtEngine(options);
    }
}
