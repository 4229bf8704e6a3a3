// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.Embedding;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Lora;
import io.sdxl4j.SdxlException;
import io.sdxl4j.adapter.AdapterFile;
import io.sdxl4j.adapter.AdapterMerge;
import io.sdxl4j.adapter.TextualInversion;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.text.ClipTokenizer;
import io.sdxl4j.text.TextConditioner;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter set applied to a model folder's weights, before any session opens: every LoRA file
 * read and merged ({@code W + scale·ΔW} for each module it targets, all files added), the
 * embeddings' tokens added to the tokenizers and their vectors appended to the token embeddings.
 * The result is replacement initializers per component, which the sessions then own. An adapter
 * file that does not fit the model is an {@link InvalidRequestException} naming its field.
 */
final class AdaptedWeights {

    private final Map<Component, Map<String, HostTensor>> initializers;
    private final Map<Component, TextConditioner.Tokenization> tokenizers;

    private AdaptedWeights(Map<Component, Map<String, HostTensor>> initializers,
                           Map<Component, TextConditioner.Tokenization> tokenizers) {
        this.initializers = initializers;
        this.tokenizers = tokenizers;
    }

    static AdaptedWeights of(ModelFolder folder, AdapterSet set) {
        Map<Component, Map<String, HostTensor>> merged = new EnumMap<>(Component.class);
        Map<Component, TextConditioner.Tokenization> tokenizers = new EnumMap<>(Component.class);
        try {
            if (!set.loras().isEmpty()) {
                merged.putAll(merge(folder, set.loras()));
            }
            if (!set.embeddings().isEmpty()) {
                embed(folder, set.embeddings(), merged, tokenizers);
            }
            return new AdaptedWeights(merged, tokenizers);
        } catch (RuntimeException e) {
            merged.values().forEach(AdapterMerge::closeAll);
            throw e;
        }
    }

    private static Map<Component, Map<String, HostTensor>> merge(ModelFolder folder, List<Lora> loras) {
        List<AdapterFile> files = new ArrayList<>();
        try {
            List<AdapterMerge.Scaled> scaled = new ArrayList<>();
            for (Lora lora : loras) {
                AdapterFile file = open(lora);
                files.add(file);
                scaled.add(new AdapterMerge.Scaled(file, (float) lora.scale()));
            }
            Map<Component, java.nio.file.Path> components = new EnumMap<>(Component.class);
            for (Component c : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2, Component.UNET)) {
                if (folder.has(c)) {
                    components.put(c, folder.onnx(c));
                }
            }
            try {
                return new EnumMap<>(AdapterMerge.mergeAll(components, scaled));
            } catch (SdxlException e) {
                throw new InvalidRequestException("loras", loras, "do not fit the model: " + e.getMessage());
            }
        } finally {
            files.forEach(AdapterFile::close);
        }
    }

    private static AdapterFile open(Lora lora) {
        try {
            return AdapterFile.load(lora.file());
        } catch (SdxlException | IllegalArgumentException e) {
            throw new InvalidRequestException("loras", lora.file(), "cannot be read as a LoRA: " + e.getMessage());
        }
    }

    private static void embed(ModelFolder folder, List<Embedding> embeddings,
                              Map<Component, Map<String, HostTensor>> merged,
                              Map<Component, TextConditioner.Tokenization> tokenizers) {
        TextualInversion ti;
        try {
            List<TextualInversion.Embedding> loaded = new ArrayList<>();
            for (Embedding e : embeddings) {
                loaded.add(TextualInversion.load(e.file(), e.token().orElse(null)));
            }
            ClipTokenizer first = folder.has(Component.TEXT_ENCODER) ? ClipTokenizer.load(folder.tokenizer(1)) : null;
            ti = TextualInversion.apply(loaded, first, ClipTokenizer.load(folder.tokenizer(2)));
            for (Component c : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
                if (!folder.has(c)) {
                    continue;
                }
                Map<String, HostTensor> grown = ti.initializers(folder.onnx(c), c);
                if (!grown.isEmpty()) {
                    merged.computeIfAbsent(c, k -> new HashMap<>()).putAll(grown);
                }
                TextualInversion adapted = ti;
                tokenizers.put(c, new TextConditioner.Tokenization(ti.tokenizer(c),
                        prompt -> adapted.convertPrompt(c, prompt)));
            }
        } catch (SdxlException | IllegalArgumentException e) {
            if (e instanceof InvalidRequestException invalid) {
                throw invalid;
            }
            throw new InvalidRequestException("embeddings", embeddings, "do not fit the model: " + e.getMessage());
        }
    }

    /** The text conditioning's part; the tensors go with it. */
    TextConditioner.Adapted text() {
        Map<Component, Map<String, HostTensor>> text = new EnumMap<>(Component.class);
        for (Component c : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
            Map<String, HostTensor> m = initializers.remove(c);
            if (m != null) {
                text.put(c, m);
            }
        }
        return new TextConditioner.Adapted(tokenizers, text);
    }

    /** The UNet's replacement weights; they go with the call. */
    Map<String, HostTensor> unet() {
        Map<String, HostTensor> m = initializers.remove(Component.UNET);
        return m == null ? Map.of() : m;
    }

    /** Frees what no session took. */
    void closeRest() {
        initializers.values().forEach(AdapterMerge::closeAll);
        initializers.clear();
    }
}
