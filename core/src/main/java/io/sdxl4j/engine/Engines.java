// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.PipelineOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds engines by name through {@link ServiceLoader}. */
public final class Engines {

    private Engines() {
    }

    /** The names of the engines on the class path. */
    public static List<String> available() {
        List<String> names = new ArrayList<>();
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader())) {
            names.add(p.name());
        }
        return names;
    }

    /**
     * Creates the engine {@code options.engine()} names.
     *
     * @throws io.sdxl4j.InvalidRequestException for the field {@code engine} when no provider has that name
     */
    public static Engine create(PipelineOptions options) {
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader())) {
            if (p.name().equals(options.engine())) {
                return p.create(options);
            }
        }
        throw new io.sdxl4j.InvalidRequestException("engine", options.engine(), "is not on the class path; available: "
                + available() + (options.engine().equals("javacpp") ? " (add io.sdxl4j:sdxl4j-native)" : ""));
    }
}
