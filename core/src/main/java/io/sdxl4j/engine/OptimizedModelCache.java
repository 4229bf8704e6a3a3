// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.UUID;

/**
 * ONNX Runtime's offline graph optimization, used as a start-up cache: the first open of a model
 * saves the graph as ONNX Runtime optimized it; later opens load that graph with optimization
 * disabled. An entry is keyed by the model file (absolute path, size, modification time) and the
 * rewrite sdxl4j made of it, the runtime's version, the provider and the optimization level, because an optimized graph (with
 * the CPU's blocked layouts, or a provider's fused nodes) is valid only where it was made. Large
 * weights go to a data file of their own beside the entry; the entry appears atomically, after its
 * data, so a concurrent reader never sees half an entry.
 */
public final class OptimizedModelCache {

    /** ONNX Runtime session config keys for the optimized model's external weights. */
    public static final String EXTERNAL_FILE_KEY = "session.optimized_model_external_initializers_file_name";
    public static final String EXTERNAL_MIN_SIZE_KEY = "session.optimized_model_external_initializers_min_size_in_bytes";

    private final Path dir;
    private final String salt;

    /**
     * @param salt what else the optimized graph depends on: runtime version, provider, level
     */
    public OptimizedModelCache(Path dir, String salt) {
        this.dir = dir;
        this.salt = salt;
    }

    /** A cache slot for one model file. */
    public record Entry(Path model, Path pending, String pendingData) {
        /** True when an earlier process left this entry complete. */
        public boolean exists() {
            return Files.isRegularFile(model);
        }
    }

    /** The slot of {@code source}; creates the cache folder. */
    public Entry entry(ModelSource source, String label) {
        try {
            Files.createDirectories(dir);
            Path abs = source.file().toAbsolutePath().normalize();
            String key = abs + "|" + Files.size(abs) + "|" + Files.getLastModifiedTime(abs).toMillis() + "|"
                    + source.tag() + "|" + source.graph().map(g -> hash(g)).orElse("") + "|" + salt;
            String name = label.replaceAll("[^A-Za-z0-9_.-]", "_").toLowerCase(Locale.ROOT) + "-" + hash(key);
            String unique = UUID.randomUUID().toString().substring(0, 8);
            return new Entry(dir.resolve(name + ".onnx"), dir.resolve(name + "." + unique + ".pending"),
                    name + "." + unique + ".onnx_data");
        } catch (IOException e) {
            throw new SdxlException(label + ": optimized-model cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens a session the engine's way: with {@code optimize}, the runtime optimizes the graph (and
     * saves it to {@code save} when that is not null); without, the graph is loaded as it is.
     */
    @FunctionalInterface
    public interface Opener {
        EngineSession open(ModelSource model, boolean optimize, Entry save);
    }

    /**
     * How every engine opens a model file: a missing file fails naming {@code label}; with
     * {@code options.optimizedModelCache()} set, through that cache (its entries keyed also by
     * {@code runtime}, e.g. the runtime's name and version, and the provider and optimization level);
     * else optimized at open.
     */
    public static EngineSession open(PipelineOptions options, String runtime, ModelSource source, String label,
                                     Opener opener) {
        if (!Files.isRegularFile(source.file())) {
            source.initializers().values().forEach(io.sdxl4j.tensor.HostTensor::close);
            throw new SdxlException(label + ": file not found (" + source.file() + ")");
        }
        // Replaced weights bypass the cache: see ModelSource.
        if (options.optimizedModelCache().isPresent() && source.initializers().isEmpty()) {
            return new OptimizedModelCache(options.optimizedModelCache().get(), runtime + "|" + options.provider()
                    + "|" + options.graphOptimization()).open(source, label, opener);
        }
        return opener.open(source, true, null);
    }

    /**
     * Opens {@code file} through the cache: from a complete entry when there is one (an entry that
     * fails to load is discarded and rebuilt), else optimizing the original and publishing the
     * optimized graph for the next start.
     */
    public EngineSession open(ModelSource source, String label, Opener opener) {
        Entry entry = entry(source, label);
        if (entry.exists()) {
            try {
                return opener.open(ModelSource.of(entry.model()), false, null);
            } catch (SdxlException e) {
                discard(entry);
            }
        }
        EngineSession session = opener.open(source, true, entry);
        try {
            publish(entry);
        } catch (IOException e) {
            session.close();
            throw new SdxlException(label + ": optimized-model cache: " + e.getMessage(), e);
        }
        return session;
    }

    /** Makes a pending entry (written by the runtime) the entry. */
    public static void publish(Entry entry) throws IOException {
        if (!Files.isRegularFile(entry.pending())) {
            throw new IOException("the runtime wrote no optimized model at " + entry.pending());
        }
        try {
            Files.move(entry.pending(), entry.model(), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(entry.pending(), entry.model(), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Removes an entry that failed to load, so that the next open rebuilds it. */
    public static void discard(Entry entry) {
        try {
            Files.deleteIfExists(entry.model());
            Files.deleteIfExists(entry.pending());
        } catch (IOException ignored) {
            // A stale entry is rebuilt on the next open anyway.
        }
    }

    private static String hash(String key) {
        return hash(key.getBytes(StandardCharsets.UTF_8));
    }

    private static String hash(byte[] bytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
