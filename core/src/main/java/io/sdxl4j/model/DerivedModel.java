// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.SdxlException;
import io.sdxl4j.onnx.Onnx;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A rewritten graph of an export's ONNX file, written where a session can open it, without
 * touching the export: the graph in a folder of its own, and beside it a symbolic link to each
 * external-data file of the original ({@code model.onnx_data}), so the weights are read from the
 * export. With a cache folder the derived graph stays there (keyed by the original file and the
 * rewrite) for the next start; without one it lives in a temporary folder that {@link #close()}
 * deletes once the session is open.
 */
public final class DerivedModel implements AutoCloseable {

    private final Path file;
    private final Path temporary;

    private DerivedModel(Path file, Path temporary) {
        this.file = file;
        this.temporary = temporary;
    }

    /** The ONNX file to open. */
    public Path file() {
        return file;
    }

    /** Reads an ONNX file's graph (its weights too when they are embedded). */
    public static Onnx.ModelProto read(Path file, String label) {
        try (var in = Files.newInputStream(file)) {
            var coded = com.google.protobuf.CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return Onnx.ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new SdxlException(label + ": cannot load the ONNX model: its graph does not parse (" + e.getMessage()
                    + ")", e);
        }
    }

    /**
     * Writes {@code model}, derived from {@code original} by the rewrite named {@code tag}.
     *
     * @param cache a folder to keep it in across starts, or empty for a temporary one
     * @throws SdxlException naming {@code label} when it cannot be written
     */
    public static DerivedModel write(Onnx.ModelProto model, Path original, String tag, Optional<Path> cache,
                                     String label) {
        Path temporary = null;
        try {
            Path dir;
            if (cache.isPresent()) {
                Path abs = original.toAbsolutePath().normalize();
                String key = abs + "|" + Files.size(abs) + "|" + Files.getLastModifiedTime(abs).toMillis() + "|" + tag;
                dir = cache.get().resolve("derived").resolve(label.replaceAll("[^A-Za-z0-9_.-]", "_") + "-"
                        + tag + "-" + hash(key));
                if (Files.isRegularFile(dir.resolve("model.onnx"))) {
                    return new DerivedModel(dir.resolve("model.onnx"), null);
                }
            } else {
                dir = temporary = Files.createTempDirectory("sdxl4j-" + tag + "-");
            }
            Files.createDirectories(dir);
            for (String location : externalFiles(model)) {
                Path link = dir.resolve(location).normalize();
                Path target = original.toAbsolutePath().getParent().resolve(location).normalize();
                if (!link.startsWith(dir) || !Files.isRegularFile(target)) {
                    throw new SdxlException(label + ": external data `" + location + "` not found beside the model");
                }
                Files.createDirectories(link.getParent());
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, target);
            }
            // The graph appears atomically: a concurrent start never opens half of it.
            Path pending = dir.resolve("model.onnx." + UUID.randomUUID().toString().substring(0, 8) + ".pending");
            try (OutputStream out = Files.newOutputStream(pending)) {
                model.writeTo(out);
            }
            Files.move(pending, dir.resolve("model.onnx"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
            return new DerivedModel(dir.resolve("model.onnx"), temporary);
        } catch (IOException | UnsupportedOperationException e) {
            delete(temporary);
            throw new SdxlException(label + ": cannot write the rewritten graph (" + e.getMessage() + ")", e);
        }
    }

    /** The external-data files the graph's initializers name. */
    static Set<String> externalFiles(Onnx.ModelProto model) {
        Set<String> files = new LinkedHashSet<>();
        for (Onnx.TensorProto t : model.getGraph().getInitializerList()) {
            if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
                for (Onnx.StringStringEntryProto e : t.getExternalDataList()) {
                    if (e.getKey().equals("location")) {
                        files.add(e.getValue());
                    }
                }
            }
        }
        return files;
    }

    /** Deletes a temporary folder; a cached one stays. */
    @Override
    public void close() {
        delete(temporary);
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // A temporary folder left behind holds a small graph and links only.
        }
    }

    private static String hash(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
