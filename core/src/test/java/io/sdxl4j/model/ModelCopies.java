// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Copies of the tiny model that tests may damage. */
public final class ModelCopies {

    private ModelCopies() {
    }

    /** Copies the tiny SDXL model into {@code dir} and returns the copy. */
    public static Path tinyModel(Path dir) throws IOException {
        Path src = TestData.tinyModel();
        Path dst = dir.resolve("sdxl-tiny");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return dst;
    }
}
