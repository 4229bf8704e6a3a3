// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.PipelineOptions;

/**
 * Service-provider interface for engines, listed in
 * {@code META-INF/services/io.sdxl4j.engine.EngineProvider}.
 */
public interface EngineProvider {

    /** The name {@link PipelineOptions#engine()} selects this engine by. */
    String name();

    /** Creates an engine for these options. */
    Engine create(PipelineOptions options);
}
