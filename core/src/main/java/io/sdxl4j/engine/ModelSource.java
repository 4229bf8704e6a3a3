// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * What a session is made from: an export's ONNX file as it is, or a graph sdxl4j rewrote from it
 * (held in memory; its external weights are still read from beside the file, through ONNX
 * Runtime's {@code session.model_external_initializers_file_folder_path}). The export's files are
 * never changed.
 *
 * @param file  the export's {@code .onnx} file
 * @param graph the rewritten graph's bytes, or empty for the file as it is
 * @param tag   names the rewrite, for caches and logs ({@code ""} for none)
 */
public record ModelSource(Path file, Optional<byte[]> graph, String tag) {

    /** The ONNX Runtime session config key for the external weights of a graph loaded from memory. */
    public static final String EXTERNAL_DATA_FOLDER_KEY = "session.model_external_initializers_file_folder_path";

    public ModelSource {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(tag, "tag");
    }

    /** The file as it is. */
    public static ModelSource of(Path file) {
        return new ModelSource(file, Optional.empty(), "");
    }

    /** A graph rewritten from {@code file} by the rewrite {@code tag}. */
    public static ModelSource rewritten(Path file, byte[] graph, String tag) {
        return new ModelSource(file, Optional.of(graph), tag);
    }

    /** The folder the graph's external weights are in: the file's. */
    public Path externalDataFolder() {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? file.toAbsolutePath() : parent;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSource m && file.equals(m.file) && tag.equals(m.tag)
                && graph.isPresent() == m.graph.isPresent()
                && (graph.isEmpty() || Arrays.equals(graph.get(), m.graph.get()));
    }

    @Override
    public int hashCode() {
        return Objects.hash(file, tag, graph.map(Arrays::hashCode).orElse(0));
    }

    @Override
    public String toString() {
        return graph.isEmpty() ? file.toString() : file + " (" + tag + ", rewritten)";
    }
}
