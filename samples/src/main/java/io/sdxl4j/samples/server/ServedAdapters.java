// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.Embedding;
import io.sdxl4j.Lora;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The adapters clients may name: the files of the server's LoRA folder ({@code --lora-dir}), by
 * name only — never a path of the server's disk — and, for Replicate, a fine-tune's folder there
 * ({@code lora.safetensors}, {@code embeddings.pti}, {@code special_params.json}, as cog-sdxl's
 * trainer writes them).
 */
final class ServedAdapters {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ServedAdapters() {
    }

    /**
     * A LoRA of the folder: {@code "name"}, {@code "name:0.8"} or {@code {"name": …, "scale": …}}.
     *
     * @throws ApiError naming {@code field} for anything else, or a name that is a path
     */
    static Lora lora(JsonNode node, String field, int status) {
        String name;
        double scale = 1.0;
        if (node.isTextual()) {
            String text = node.asText();
            int colon = text.lastIndexOf(':');
            name = text;
            if (colon > 0) {
                try {
                    scale = Double.parseDouble(text.substring(colon + 1));
                    name = text.substring(0, colon);
                } catch (NumberFormatException e) {
                    throw new ApiError(status, field, "'" + text + "': the scale after ':' is not a number");
                }
            }
        } else if (node.isObject() && node.path("name").isTextual()) {
            name = node.path("name").asText();
            JsonNode s = node.path("scale");
            if (!s.isMissingNode() && !s.isNull()) {
                if (!s.isNumber()) {
                    throw new ApiError(status, field, "scale: expected a number, got " + s);
                }
                scale = s.asDouble();
            }
        } else {
            throw new ApiError(status, field, "expected \"name[:scale]\" or {\"name\": …, \"scale\": …}, got " + node);
        }
        return Lora.named(checkName(name, field, status), scale);
    }

    /** The LoRAs of a {@code loras} list. */
    static List<Lora> loras(JsonNode list, String field, int status) {
        if (!list.isArray()) {
            throw new ApiError(status, field, "expected a list of LoRA names");
        }
        List<Lora> out = new ArrayList<>();
        for (JsonNode n : list) {
            out.add(lora(n, field, status));
        }
        return out;
    }

    // A client names a file of the folder; a path (absolute, or climbing out) is refused.
    private static String checkName(String name, String field, int status) {
        String n = name.strip();
        if (n.isEmpty() || n.startsWith("/") || n.startsWith("\\") || n.contains("..") || n.contains(":")
                || n.contains("\\")) {
            throw new ApiError(status, field, "'" + name + "' is not a LoRA name of this server");
        }
        return n;
    }

    /**
     * A Replicate fine-tune by name: its folder under the LoRA folder, with {@code lora.safetensors}
     * (merged at {@code loraScale}) and, when present, {@code embeddings.pti} with the trigger word
     * of {@code special_params.json} ({@code {"TOK": "<s0><s1>"}}).
     *
     * @throws ApiError naming {@code field} when the value is a URL or names no fine-tune there
     */
    static FineTune fineTune(String value, Optional<Path> folder, double loraScale, String field, int status) {
        if (value.contains("://") || value.startsWith("data:")) {
            throw new ApiError(status, field, "this server loads no weights from URLs: put the fine-tune's folder"
                    + " (lora.safetensors, embeddings.pti, special_params.json) in its LoRA folder and name it");
        }
        String name = checkName(value, field, status);
        if (folder.isEmpty()) {
            throw new ApiError(status, field, "this server has no LoRA folder (serve --lora-dir)");
        }
        Path dir = folder.get().resolve(name).normalize();
        Path lora = dir.resolve("lora.safetensors");
        if (!dir.startsWith(folder.get()) || !Files.isRegularFile(lora)) {
            throw new ApiError(status, field, "'" + value + "' is not a fine-tune of this server (no "
                    + name + "/lora.safetensors in its LoRA folder)");
        }
        List<Embedding> embeddings = new ArrayList<>();
        Path pti = dir.resolve("embeddings.pti");
        if (Files.isRegularFile(pti)) {
            embeddings.add(trigger(dir).map(t -> Embedding.pti(pti, t)).orElse(Embedding.pti(pti)));
        }
        return new FineTune(Lora.of(lora, loraScale), embeddings);
    }

    /**
     * A fine-tune's adapters.
     *
     * @param lora       its LoRA at the request's scale
     * @param embeddings its embeddings
     */
    record FineTune(Lora lora, List<Embedding> embeddings) {
    }

    // cog-sdxl's special_params.json maps the trigger word to the tokens: the first key is the word.
    private static Optional<String> trigger(Path dir) {
        Path params = dir.resolve("special_params.json");
        if (!Files.isRegularFile(params)) {
            return Optional.empty();
        }
        try {
            Iterator<String> names = JSON.readTree(params.toFile()).fieldNames();
            return names.hasNext() ? Optional.of(names.next()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The names of the folder's LoRA files ({@code .safetensors}, without the extension), sorted. */
    static List<String> names(Optional<Path> folder) {
        if (folder.isEmpty() || !Files.isDirectory(folder.get())) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(folder.get())) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.toLowerCase(Locale.ROOT).endsWith(".safetensors"))
                    .map(n -> n.substring(0, n.length() - ".safetensors".length())).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
