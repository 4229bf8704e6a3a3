// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ONNX Runtime's offline graph optimization, used as a start-up cache: the first open of a model
 * saves the graph as ONNX Runtime optimized it; later opens load that graph with optimization
 * disabled. An entry is keyed by the model's files (the {@code .onnx} file's absolute path, and the
 * name, size and modification time of every file in its folder, which holds its external weights),
 * the rewrite sdxl4j made of it, the runtime's name and version, the provider and the optimization
 * level, because an optimized graph (with the CPU's blocked layouts, or a provider's fused nodes) is
 * valid only where it was made.
 *
 * <p>An entry is a folder ({@code <label>-<key hash>/}: {@code model.onnx} and its weights in
 * {@code model.onnx_data}). The runtime writes it under a name of its own
 * ({@code <label>-<key hash>.<unique>.tmp/}), which is renamed to the entry's name once complete,
 * so a reader never sees half an entry and two processes writing the same entry at once do not mix
 * their files: the first rename wins, the other writer removes its copy. An entry that fails to
 * load (a file cut short) is renamed away and removed, and written again by the open that found it.
 * A writer that died leaves its {@code .tmp} folder, removed by a later open after a day.
 */
public final class OptimizedModelCache {

    private static final Logger LOG = LoggerFactory.getLogger(OptimizedModelCache.class);
    /** Entry writers of this process (see {@link #openWriting}). */
    private static final Semaphore WRITERS = new Semaphore(1);

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

    /** An entry's graph file and its weights file, in the entry's folder. */
    public static final String MODEL_FILE = "model.onnx";
    public static final String DATA_FILE = "model.onnx_data";
    /** How old an abandoned {@code .tmp} folder (a writer that died) must be before an open removes it. */
    private static final Duration ABANDONED = Duration.ofDays(1);

    /**
     * A cache slot for one model file.
     *
     * @param model       the entry's graph, {@code <entry>/model.onnx}
     * @param pending     where the runtime writes the graph, in this writer's own folder
     * @param pendingData the weights file's name, beside {@code pending} (and {@code model} once published)
     */
    public record Entry(Path model, Path pending, String pendingData) {
        /** True when an earlier process left this entry complete. */
        public boolean exists() {
            return Files.isRegularFile(model);
        }
    }

    /** The slot of {@code source} (its writer's folder is made when the entry is written); creates the cache folder. */
    public Entry entry(ModelSource source, String label) {
        try {
            Files.createDirectories(dir);
            Path abs = source.file().toAbsolutePath().normalize();
            String key = abs + "|" + files(abs) + "|" + source.tag() + "|" + source.graph().map(g -> hash(g)).orElse("")
                    + "|" + salt;
            String name = label.replaceAll("[^A-Za-z0-9_.-]", "_").toLowerCase(Locale.ROOT) + "-" + hash(key);
            removeAbandoned(name);
            Path pending = dir.resolve(name + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
            return new Entry(dir.resolve(name).resolve(MODEL_FILE), pending.resolve(MODEL_FILE), DATA_FILE);
        } catch (IOException | UncheckedIOException e) {
            throw new SdxlException(label + ": optimized-model cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The identity of a model's files: name, size and modification time of every file in the
     * {@code .onnx} file's folder (its external weights live there, whatever their names).
     */
    private static String files(Path model) throws IOException {
        Path folder = model.getParent();
        StringBuilder b = new StringBuilder();
        try (Stream<Path> files = Files.list(folder)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                b.append(f.getFileName()).append(':').append(Files.size(f)).append(':')
                        .append(Files.getLastModifiedTime(f).toMillis()).append(';');
            }
        }
        return b.toString();
    }

    /** Removes this entry's folders that writers left more than a day ago ({@code .tmp}, {@code .trash}). */
    private void removeAbandoned(String name) throws IOException {
        Instant before = Instant.now().minus(ABANDONED);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (n.startsWith(name + ".") && (n.endsWith(".tmp") || n.endsWith(".trash"))
                        && Files.getLastModifiedTime(f).toInstant().isBefore(before)) {
                    deleteTree(f);
                }
            }
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
     * optimized graph for the next start. The cache only ever costs a start its speed: where the
     * entry cannot be written (a full disk, a read-only folder) the model opens without it.
     */
    public EngineSession open(ModelSource source, String label, Opener opener) {
        Entry entry = entry(source, label);
        if (entry.exists()) {
            try {
                EngineSession cached = opener.open(ModelSource.of(entry.model()), false, null);
                LOG.debug("{}: opened the optimized graph {}", label, entry.model());
                return cached;
            } catch (SdxlException e) {
                LOG.warn("{}: the optimized graph {} does not load ({}); optimizing the model again", label,
                        entry.model(), e.getMessage());
                discard(entry);
            }
        }
        EngineSession session;
        try {
            Files.createDirectories(entry.pending().getParent());
            session = openWriting(source, entry, opener);
        } catch (IOException | SdxlException e) {
            quietlyDelete(entry.pending().getParent());
            // Whether writing the entry or the model itself failed, the model alone tells.
            session = opener.open(source, true, null);
            LOG.warn("{}: cannot write the optimized graph to {} ({}); opened without the cache", label, dir,
                    e.getMessage());
            return session;
        }
        try {
            publish(entry);
            LOG.debug("{}: optimized graph saved to {}", label, entry.model());
        } catch (IOException e) {
            quietlyDelete(entry.pending().getParent());
            LOG.warn("{}: cannot publish the optimized graph in {} ({})", label, dir, e.getMessage());
        }
        return session;
    }

    /**
     * Opens and writes an entry, one writer at a time in this process: writing an entry writes the
     * whole model again (its weights are most of it), and the components' sessions open side by
     * side; measured on the synthetic SDXL with full-size text encoders and VAE (bench/RESULTS.md,
     * "Opening the model"), writers streaming one after another filled the cache faster than
     * writers interleaving on the disk. Opens that only read an entry, or use no cache, stay
     * concurrent.
     */
    private static EngineSession openWriting(ModelSource source, Entry entry, Opener opener) throws IOException {
        try {
            WRITERS.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to write the optimized graph", e);
        }
        try {
            return opener.open(source, true, entry);
        } finally {
            WRITERS.release();
        }
    }

    private static void quietlyDelete(Path folder) {
        try {
            deleteTree(folder);
        } catch (IOException | UncheckedIOException ignored) {
            // What is left is an abandoned .tmp folder, removed by a later open.
        }
    }

    /**
     * Makes a pending entry (written by the runtime) the entry: its folder renamed to the entry's.
     * Where another writer's entry got there first, that one stays and this copy is removed.
     */
    public static void publish(Entry entry) throws IOException {
        Path pending = entry.pending().getParent();
        Path target = entry.model().getParent();
        if (!Files.isRegularFile(entry.pending())) {
            deleteTree(pending);
            throw new IOException("the runtime wrote no optimized model at " + entry.pending());
        }
        try {
            Files.move(pending, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            deleteTree(pending); // another process published the same entry first
        } catch (AtomicMoveNotSupportedException e) {
            // The folders are siblings in one file system, where rename is atomic; a file system
            // without it gets no entry rather than one a reader could see half-written.
            deleteTree(pending);
        }
    }

    /**
     * Removes an entry that failed to load, so that the next open rebuilds it: renamed away first
     * (a concurrent reader sees the whole entry or none), then deleted.
     */
    public static void discard(Entry entry) {
        Path folder = entry.model().getParent();
        Path trash = folder.resolveSibling(folder.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8)
                + ".trash");
        try {
            Files.move(folder, trash, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(trash);
        } catch (IOException | UncheckedIOException ignored) {
            // Someone else removed or replaced it; a stale entry is discarded again on the next open.
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
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
