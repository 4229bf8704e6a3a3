// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.tensor.HostTensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a session is made from: an export's ONNX file as it is, or a graph sdxl4j rewrote from it
 * (held in memory; its external weights are still read from beside the file, through ONNX
 * Runtime's {@code session.model_external_initializers_file_folder_path}), with some initializers
 * replaced at session creation (merged adapter weights, a grown token embedding). The export's
 * files are never changed.
 *
 * <p>Replacement initializers: each tensor replaces the initializer of its name, embedded or
 * external, and may have another shape (the graph must still compute with it). Their ownership
 * passes to the engine with {@link Engine#open(ModelSource, String)}: the session keeps their
 * memory alive and frees it when it closes, and a failed open frees it at once. A source with
 * replacements bypasses the optimized-model cache (an optimized graph may have renamed or fused
 * the initializers, and its entry would hold the replaced weights).
 *
 * @param file         the export's {@code .onnx} file
 * @param graph        the rewritten graph's bytes, or empty for the file as it is
 * @param tag          names the rewrite, for caches and logs ({@code ""} for none)
 * @param initializers initializer name to its replacement (empty: none)
 */
public record ModelSource(Path file, Optional<byte[]> graph, String tag, Map<String, HostTensor> initializers) {

    /** The ONNX Runtime session config key for the external weights of a graph loaded from memory. */
    public static final String EXTERNAL_DATA_FOLDER_KEY = "session.model_external_initializers_file_folder_path";

    public ModelSource {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(tag, "tag");
        initializers = Map.copyOf(initializers);
    }

    /** The file as it is. */
    public static ModelSource of(Path file) {
        return new ModelSource(file, Optional.empty(), "", Map.of());
    }

    /** A graph rewritten from {@code file} by the rewrite {@code tag}. */
    public static ModelSource rewritten(Path file, byte[] graph, String tag) {
        return new ModelSource(file, Optional.of(graph), tag, Map.of());
    }

    /** This source with {@code replacements} for some initializers (their ownership goes with the source). */
    public ModelSource withInitializers(Map<String, HostTensor> replacements) {
        java.util.Map<String, HostTensor> all = new java.util.HashMap<>(initializers);
        all.putAll(replacements);
        return new ModelSource(file, graph, tag, all);
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
                && (graph.isEmpty() || Arrays.equals(graph.get(), m.graph.get()))
                && initializers.equals(m.initializers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(file, tag, graph.map(Arrays::hashCode).orElse(0), initializers.keySet());
    }

    @Override
    public String toString() {
        return file + (graph.isEmpty() ? "" : " (" + tag + ", rewritten)")
                + (initializers.isEmpty() ? "" : " (" + initializers.size() + " weights replaced)");
    }
}
