// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The tiny random SDXL model packed into the samples jar (the conformance suite's: real SDXL
 * architecture and layout, a few MB of random weights), so that the commands run with no download.
 * Its images are noise patterns; they show that the whole pipeline runs, not what SDXL draws.
 */
public final class BuiltInModel {

    static final String ROOT = "io/sdxl4j/samples/tiny-model/";

    private BuiltInModel() {
    }

    /** Extracts the model to a fresh temporary folder, deleted when the JVM exits. */
    public static Path extract() {
        try {
            Path dir = Files.createTempDirectory("sdxl4j-tiny-");
            for (String file : files()) {
                Path target = dir.resolve(file);
                Files.createDirectories(target.getParent());
                try (InputStream in = open(ROOT + file)) {
                    Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the built-in model", e);
        }
    }

    /**
     * One file of the built-in model, by its path in the model folder ({@code tokenizer/vocab.json}):
     * the real CLIP tokenizers and SDXL's scheduler config, for tools that write models of their own.
     */
    public static InputStream file(String path) throws IOException {
        return open(ROOT + path);
    }

    private static List<String> files() throws IOException {
        try (InputStream in = open(ROOT + "FILES")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
        }
    }

    private static InputStream open(String resource) throws IOException {
        InputStream in = BuiltInModel.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new IOException("resource " + resource + " missing from the samples jar");
        }
        return in;
    }

    private static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // Best effort at exit: the folder is in the system's temporary directory.
        }
    }
}
