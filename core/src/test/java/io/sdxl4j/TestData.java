// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the project's conformance data (tiny models and diffusers references). */
public final class TestData {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TestData() {
    }

    /** The conformance folder, from the {@code sdxl4j.conformance.dir} property the build sets. */
    public static Path conformance() {
        String dir = System.getProperty("sdxl4j.conformance.dir");
        if (dir == null) {
            throw new IllegalStateException("system property sdxl4j.conformance.dir is not set (run through Maven)");
        }
        Path p = Path.of(dir);
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("conformance data not found at " + p);
        }
        return p;
    }

    /** The tiny random SDXL base model. */
    public static Path tinyModel() {
        return conformance().resolve("models/sdxl-tiny");
    }

    public static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
