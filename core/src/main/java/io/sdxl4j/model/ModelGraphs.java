// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.adapter.OnnxModel;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.engine.ReplacedWeights;
import io.sdxl4j.onnx.Onnx;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import io.sdxl4j.tensor.HostTensor;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/** What a component's session opens: its file as it is, or its graph after the rewrites that apply. */
public final class ModelGraphs {

    /** The model metadata key under which a stored conversion records the rewrites it made. */
    static final String REWRITES_KEY = "sdxl4j.rewrites";

    /** Initializers from this many bytes on go to the stored conversion's data file. */
    private static final int EXTERNAL_MIN_BYTES = 1024;

    private ModelGraphs() {
    }

    /**
     * The rewrites {@code options} ask for on a component's graph, beyond those the component needs
     * anyway: the attention fusion on the UNet and the VAE.
     */
    public static List<GraphRewrite> rewrites(PipelineOptions options, Component component) {
        List<GraphRewrite> rewrites = new ArrayList<>();
        boolean attention = component == Component.UNET || component == Component.VAE_DECODER
                || component == Component.VAE_ENCODER;
        if (options.fusedAttention() && attention) {
            rewrites.add(AttentionFusion.REWRITE);
        }
        return rewrites;
    }

    /**
     * The source for {@code file} after {@code rewrites}, in order; the file as it is when none
     * changes anything (or none is asked for: the graph is then not even read).
     */
    public static ModelSource source(Path file, String label, List<GraphRewrite> rewrites) {
        return source(file, label, rewrites, Optional.empty());
    }

    /**
     * As {@link #source(Path, String, List)}; with a {@code store} folder (the optimized-model
     * cache) a rewrite that changed something is saved there — the graph, its weights in a data
     * file beside it — keyed by the file (path, size, modification time) and the rewrites asked
     * for, so that a later open of the same file with the same rewrites reads the stored graph and
     * converts nothing (weight conversions such as {@link Int8Weights} cost seconds). The entry
     * appears atomically after its data. A store that cannot be written fails naming {@code label}.
     */
    public static ModelSource source(Path file, String label, List<GraphRewrite> rewrites, Optional<Path> store) {
        if (rewrites.isEmpty() || !Files.isRegularFile(file)) {
            return ModelSource.of(file);
        }
        Path stored = null;
        if (store.isPresent()) {
            stored = store.get().resolve(storedName(file, label, rewrites));
            if (Files.isRegularFile(stored)) {
                return storedSource(file, stored, label);
            }
        }
        Onnx.ModelProto model = UnetUpsamplers.read(file, label);
        List<String> applied = new ArrayList<>();
        for (GraphRewrite r : rewrites) {
            Optional<Onnx.ModelProto> next = r.apply(model);
            if (next.isPresent()) {
                model = next.get();
                applied.add(r.tag());
            }
        }
        if (applied.isEmpty()) {
            return ModelSource.of(file);
        }
        String tag = String.join("+", applied);
        if (stored != null) {
            write(model, tag, file, stored, label);
            return new ModelSource(stored, Optional.empty(), tag, java.util.Map.of());
        }
        return ModelSource.rewritten(file, model.toByteArray(), tag);
    }

    /** A stored conversion as a source: its own file, tagged with the rewrites it records. */
    private static ModelSource storedSource(Path file, Path stored, String label) {
        Onnx.ModelProto graph = UnetUpsamplers.read(stored, label);
        String tag = "";
        for (Onnx.StringStringEntryProto e : graph.getMetadataPropsList()) {
            if (e.getKey().equals(REWRITES_KEY)) {
                tag = e.getValue();
            }
        }
        return new ModelSource(stored, Optional.empty(), tag, java.util.Map.of());
    }

    private static String storedName(Path file, String label, List<GraphRewrite> rewrites) {
        try {
            Path abs = file.toAbsolutePath().normalize();
            List<String> tags = rewrites.stream().map(GraphRewrite::tag).toList();
            String key = abs + "|" + Files.size(abs) + "|" + Files.getLastModifiedTime(abs).toMillis() + "|"
                    + String.join("+", tags);
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return "converted-" + label.replaceAll("[^A-Za-z0-9_.-]", "_").toLowerCase(Locale.ROOT) + "-"
                    + HexFormat.of().formatHex(digest, 0, 8) + ".onnx";
        } catch (IOException e) {
            throw new SdxlException(label + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes {@code model} to {@code target} with its large initializers in one data file beside
     * it: embedded bytes as they are, the export's external weights copied from its data file (a
     * stored graph must not point back into the model folder, which can change or move).
     */
    private static void write(Onnx.ModelProto model, String tag, Path file, Path target, String label) {
        String unique = UUID.randomUUID().toString().substring(0, 8);
        String name = target.getFileName().toString();
        String dataName = name.substring(0, name.length() - ".onnx".length()) + "." + unique + ".onnx_data";
        Path data = target.resolveSibling(dataName);
        Path pending = target.resolveSibling(target.getFileName() + "." + unique + ".pending");
        OnnxModel original = null;
        try {
            Files.createDirectories(target.getParent());
            Onnx.GraphProto.Builder graph = model.getGraph().toBuilder().clearInitializer();
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(data), 1 << 20);
                 WritableByteChannel channel = Channels.newChannel(out)) {
                long offset = 0;
                for (Onnx.TensorProto t : model.getGraph().getInitializerList()) {
                    ByteBuffer bytes;
                    if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
                        if (original == null) {
                            original = OnnxModel.read(file, label);
                        }
                        bytes = original.rawData(t.getName());
                    } else if (t.hasRawData() && t.getRawData().size() >= EXTERNAL_MIN_BYTES) {
                        bytes = t.getRawData().asReadOnlyByteBuffer();
                    } else {
                        graph.addInitializer(t);
                        continue;
                    }
                    long length = bytes.remaining();
                    while (bytes.hasRemaining()) {
                        channel.write(bytes);
                    }
                    graph.addInitializer(t.toBuilder().clearRawData().clearExternalData()
                            .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", dataName))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Long.toString(length))));
                    offset += length;
                }
            }
            Onnx.ModelProto.Builder result = model.toBuilder().setGraph(graph);
            result.addMetadataProps(entry(REWRITES_KEY, tag));
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(pending))) {
                result.build().writeTo(out);
            }
            try {
                Files.move(pending, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(pending, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(pending);
                Files.deleteIfExists(data);
            } catch (IOException ignored) {
                // Best effort: an orphaned data file is never read.
            }
            throw new SdxlException(label + ": cannot store the converted graph in " + target.getParent() + ": "
                    + e.getMessage(), e);
        }
    }

    private static Onnx.StringStringEntryProto entry(String key, String value) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /**
     * {@code source} converted to float16 ({@link Float16Conversion}), with {@code replacements}
     * (merged adapter weights, owned by the result from the call on) in the types the converted graph
     * holds them in. A model whose weights are external gets its float16 weights as replacement
     * initializers, which open it past the optimized-model cache ({@link ModelSource}).
     */
    public static ModelSource half(ModelSource source, String label, Map<String, HostTensor> replacements) {
        Onnx.ModelProto model;
        try {
            model = ReplacedWeights.read(source, label);
        } catch (RuntimeException e) {
            replacements.values().forEach(HostTensor::close);
            throw e;
        }
        Float16Conversion.Converted c;
        try {
            c = Float16Conversion.convert(model, source.externalDataFolder(), label);
        } catch (RuntimeException e) {
            replacements.values().forEach(HostTensor::close);
            throw e;
        }
        Map<String, HostTensor> weights = new HashMap<>(c.weights());
        for (String replaced : replacements.keySet()) {
            HostTensor converted = weights.remove(replaced);
            if (converted != null) {
                converted.close();
            }
        }
        weights.putAll(Float16Conversion.halfOf(replacements, c));
        String tag = source.tag().isEmpty() ? Float16Conversion.TAG : source.tag() + "+" + Float16Conversion.TAG;
        return ModelSource.rewritten(source.file(), c.model().toByteArray(), tag).withInitializers(weights);
    }
}
