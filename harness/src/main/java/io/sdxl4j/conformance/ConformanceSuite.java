// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.SdxlException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The cases of a conformance folder ({@code cases.json} beside model folders and reference files). */
public final class ConformanceSuite {

    private final Path dir;
    private final List<ConformanceCase> cases;

    private ConformanceSuite(Path dir, List<ConformanceCase> cases) {
        this.dir = dir;
        this.cases = List.copyOf(cases);
    }

    /**
     * Reads {@code dir/cases.json}; model and file paths are relative to {@code dir}.
     *
     * @throws SdxlException naming the file when it is missing or malformed
     */
    public static ConformanceSuite load(Path dir) {
        Path file = dir.resolve("cases.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new SdxlException(file + (Files.exists(file) ? ": cannot parse: " + e.getMessage() : ": not found"),
                    e);
        }
        List<ConformanceCase> cases = new ArrayList<>();
        for (JsonNode c : root.path("cases")) {
            String id = c.path("id").asText(null);
            if (id == null) {
                throw new SdxlException(file + ": a case has no id");
            }
            Map<String, Path> files = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = c.path("files").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                files.put(e.getKey(), dir.resolve(e.getValue().asText()));
            }
            JsonNode tol = c.path("tolerance");
            Path refiner = c.path("refiner_model").isTextual() ? dir.resolve(c.path("refiner_model").asText()) : null;
            cases.add(new ConformanceCase(id, c.path("pipeline").asText(), dir, dir.resolve(c.path("model").asText()),
                    refiner, c, files, tol.path("image_max_abs").asDouble(2e-3),
                    tol.path("embeds_max_abs").asDouble(1e-4)));
        }
        if (cases.isEmpty()) {
            throw new SdxlException(file + ": no cases");
        }
        return new ConformanceSuite(dir, cases);
    }

    public Path dir() {
        return dir;
    }

    public List<ConformanceCase> cases() {
        return cases;
    }
}
