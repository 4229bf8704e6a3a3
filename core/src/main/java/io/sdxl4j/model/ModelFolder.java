// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.ModelInfo.Kind;
import io.sdxl4j.SdxlException;
import io.sdxl4j.scheduler.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An SDXL ONNX export in the layout {@code optimum-cli export onnx} writes: {@code model_index.json},
 * one folder per component with {@code model.onnx} (and {@code model.onnx_data} for large
 * weights), {@code tokenizer/}, {@code tokenizer_2/} and {@code scheduler/scheduler_config.json}.
 * Opening checks the layout and reads the small JSON files; the ONNX files are opened by the
 * pipeline. A component folder may be a symbolic link to another export's (an inpainting export
 * that shares everything but its UNet), or the small text file git writes in place of such a link
 * where it cannot make links, holding the relative path.
 */
public final class ModelFolder {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Kind kind;
    private final JsonNode index;
    private final VaeConfig vae;
    private final JsonNode unetConfig;
    private final SchedulerConfig scheduler;

    /** The folders of a model's parts, as the export names them. */
    private static final List<String> PARTS = List.of("text_encoder", "text_encoder_2", "unet", "vae_decoder",
            "vae_encoder", "tokenizer", "tokenizer_2", "scheduler");
    /** Larger files are not link placeholders. */
    private static final long MAX_LINK_FILE = 4096;

    private final Map<String, Path> parts;

    private ModelFolder(Path dir, Map<String, Path> parts, Kind kind, JsonNode index, VaeConfig vae,
                        JsonNode unetConfig, SchedulerConfig scheduler) {
        this.dir = dir;
        this.parts = parts;
        this.kind = kind;
        this.index = index;
        this.vae = vae;
        this.unetConfig = unetConfig;
        this.scheduler = scheduler;
    }

    /**
     * Opens a model folder.
     *
     * @throws SdxlException naming the folder or file when it is not an SDXL export
     */
    public static ModelFolder open(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) {
            throw new SdxlException(abs + ": model folder not found");
        }
        Path indexFile = abs.resolve("model_index.json");
        if (!Files.isRegularFile(indexFile)) {
            throw new SdxlException(abs + ": not an SDXL ONNX export: model_index.json missing; expected the layout"
                    + " `optimum-cli export onnx` writes (model_index.json, text_encoder/, text_encoder_2/, unet/,"
                    + " vae_decoder/, tokenizer/, tokenizer_2/, scheduler/)");
        }
        JsonNode index = readJson(indexFile);
        Map<String, Path> parts = new LinkedHashMap<>();
        for (String part : PARTS) {
            parts.put(part, resolvePart(abs, part));
        }
        String className = index.path("_class_name").asText("");
        if (!className.isEmpty() && !className.contains("StableDiffusionXL")) {
            throw new SdxlException(indexFile + ": _class_name " + className + " is not an SDXL pipeline");
        }
        boolean hasTextEncoder1 = index.has("text_encoder") && !index.path("text_encoder").path(0).isNull()
                || !index.has("text_encoder") && Files.isDirectory(parts.get("text_encoder"));
        Kind kind = hasTextEncoder1 ? Kind.BASE : Kind.REFINER;

        List<String> required = new ArrayList<>(List.of(Component.TEXT_ENCODER_2.label(), Component.UNET.label(),
                Component.VAE_DECODER.label(), "tokenizer_2/vocab.json", "tokenizer_2/merges.txt",
                "vae_decoder/config.json"));
        if (kind == Kind.BASE) {
            required.addAll(List.of(Component.TEXT_ENCODER.label(), "tokenizer/vocab.json", "tokenizer/merges.txt"));
        }
        List<String> missing = required.stream().filter(f -> !Files.isRegularFile(file(parts, f))).toList();
        if (!missing.isEmpty()) {
            throw new SdxlException(abs + ": not a complete SDXL ONNX export: missing " + missing);
        }
        VaeConfig vae = readVae(file(parts, "vae_decoder/config.json"));
        Path unetConfigFile = file(parts, "unet/config.json");
        JsonNode unetConfig = Files.isRegularFile(unetConfigFile) ? readJson(unetConfigFile) : JSON.createObjectNode();
        Path schedulerFile = file(parts, "scheduler/scheduler_config.json");
        SchedulerConfig scheduler = Files.isRegularFile(schedulerFile)
                ? SchedulerConfig.read(schedulerFile) : SchedulerConfig.sdxlDefault();
        return new ModelFolder(abs, Map.copyOf(parts), kind, index, vae, unetConfig, scheduler);
    }

    /** {@code part/rest} through the part's (possibly linked) folder. */
    private static Path file(Map<String, Path> parts, String relative) {
        int slash = relative.indexOf('/');
        return parts.get(relative.substring(0, slash)).resolve(relative.substring(slash + 1));
    }

    // A part's folder: itself (a directory, or a symbolic link the file system follows), or the folder
    // named by a link placeholder file, resolved against the export.
    private static Path resolvePart(Path dir, String part) {
        Path p = dir.resolve(part);
        try {
            if (Files.isRegularFile(p) && Files.size(p) <= MAX_LINK_FILE) {
                String target = Files.readString(p, StandardCharsets.UTF_8).strip();
                if (!target.isEmpty() && target.indexOf('\n') < 0) {
                    Path linked = dir.resolve(target).normalize();
                    if (Files.isDirectory(linked)) {
                        return linked;
                    }
                }
            }
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw new SdxlException(p + ": cannot read the link file (" + e.getMessage() + ")", e);
        }
        return p;
    }

    /** The folder, absolute. */
    public Path dir() {
        return dir;
    }

    /** The folder's name, for image metadata. */
    public String name() {
        return dir.getFileName() == null ? dir.toString() : dir.getFileName().toString();
    }

    public Kind kind() {
        return kind;
    }

    /** The ONNX file of a component. */
    public Path onnx(Component component) {
        return parts.get(component.folder()).resolve("model.onnx");
    }

    /** True when the folder has the component's ONNX file. */
    public boolean has(Component component) {
        return Files.isRegularFile(onnx(component));
    }

    /** The tokenizer folder for text encoder 1 or 2. */
    public Path tokenizer(int encoder) {
        return parts.get(encoder == 1 ? "tokenizer" : "tokenizer_2");
    }

    /** A component's {@code config.json}, if present. */
    public Optional<JsonNode> config(Component component) {
        Path file = parts.get(component.folder()).resolve("config.json");
        return Files.isRegularFile(file) ? Optional.of(readJson(file)) : Optional.empty();
    }

    public VaeConfig vae() {
        return vae;
    }

    /** The scheduler config of the folder (SDXL's default when the folder has none). */
    public SchedulerConfig schedulerConfig() {
        return scheduler;
    }

    /** The UNet's {@code sample_size} (latent size of the default resolution), 128 when unknown. */
    public int unetSampleSize() {
        JsonNode size = unetConfig.path("sample_size");
        return size.canConvertToInt() ? size.asInt() : 128;
    }

    /** Pixels per side of the model's default image: {@code sample_size × vae scale factor}. */
    public int defaultImageSize() {
        return unetSampleSize() * vae.scaleFactor();
    }

    /**
     * diffusers' {@code force_zeros_for_empty_prompt}: with no negative prompt, the unconditional
     * branch gets zero embeddings (true for SDXL base, false for the refiner).
     */
    public boolean forceZerosForEmptyPrompt() {
        return index.path("force_zeros_for_empty_prompt").asBoolean(kind == Kind.BASE);
    }

    /** True for refiners, whose time ids carry an aesthetic score. */
    public boolean requiresAestheticsScore() {
        return index.path("requires_aesthetics_score").asBoolean(kind == Kind.REFINER);
    }

    static JsonNode readJson(Path file) {
        try {
            JsonNode node = JSON.readTree(file.toFile());
            if (node == null || !node.isObject()) {
                throw new SdxlException(file + ": expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new SdxlException(file + ": invalid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SdxlException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static VaeConfig readVae(Path file) {
        JsonNode c = readJson(file);
        double scaling = c.path("scaling_factor").asDouble(0.18215);
        JsonNode blocks = c.path("block_out_channels");
        int levels = blocks.isArray() && !blocks.isEmpty() ? blocks.size() : 1;
        int latentChannels = c.path("latent_channels").asInt(4);
        return new VaeConfig(scaling, 1 << (levels - 1), latentChannels, doubles(c.path("latents_mean")),
                doubles(c.path("latents_std")));
    }

    private static double[] doubles(JsonNode n) {
        if (!n.isArray() || n.isEmpty()) {
            return null;
        }
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asDouble();
        }
        return out;
    }

    @Override
    public String toString() {
        return "ModelFolder[" + dir + ", " + kind + "]";
    }
}
