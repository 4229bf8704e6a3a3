// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.Embedding;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Lora;
import io.sdxl4j.PipelineOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The adapters a generation runs with — a model variant: LoRA files with their scales (absolute,
 * in a canonical order, since merged deltas add up whatever their order) and textual-inversion
 * embeddings (in loading order, which gives their tokens' ids). Equal sets share one variant.
 *
 * @param loras      resolved LoRA files
 * @param embeddings resolved embedding files
 */
public record AdapterSet(List<Lora> loras, List<Embedding> embeddings) {

    /** No adapters: the plain model. */
    public static final AdapterSet NONE = new AdapterSet(List.of(), List.of());

    public AdapterSet {
        loras = List.copyOf(loras);
        embeddings = List.copyOf(embeddings);
    }

    /** True for the plain model. */
    public boolean isEmpty() {
        return loras.isEmpty() && embeddings.isEmpty();
    }

    /**
     * The set of the pipeline's adapters, then the request's and its prompt tags', each file found
     * (relative paths and bare names in the LoRA folder).
     *
     * @throws InvalidRequestException for {@code loras} or {@code embeddings} when a file is not found
     */
    static AdapterSet resolve(PipelineOptions options, List<Lora> loras, List<Embedding> embeddings) {
        List<Lora> l = new ArrayList<>();
        for (Lora lora : concat(options.loras(), loras)) {
            l.add(new Lora(find(lora.file(), options.loraDirectory(), "loras"), lora.scale()));
        }
        l.sort(Comparator.comparing((Lora x) -> x.file().toString()).thenComparingDouble(Lora::scale));
        List<Embedding> e = new ArrayList<>();
        for (Embedding embedding : concat(options.embeddings(), embeddings)) {
            e.add(new Embedding(find(embedding.file(), options.loraDirectory(), "embeddings"), embedding.token()));
        }
        return new AdapterSet(l, e);
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    // An absolute path as it is; a relative one (or a bare name, .safetensors added) in the folder.
    private static Path find(Path file, Optional<Path> folder, String field) {
        Path found;
        if (file.isAbsolute()) {
            found = file;
        } else if (folder.isPresent()) {
            found = folder.get().resolve(file).normalize();
            if (!Files.isRegularFile(found) && !file.getFileName().toString().contains(".")) {
                found = folder.get().resolve(file + ".safetensors").normalize();
            }
            if (!found.startsWith(folder.get())) {
                throw new InvalidRequestException(field, file, "is outside the LoRA folder");
            }
        } else {
            throw new InvalidRequestException(field, file, "is a relative name and the pipeline has no LoRA folder"
                    + " (PipelineOptions.loraDirectory)");
        }
        if (!Files.isRegularFile(found)) {
            // A relative name's message does not show the folder: servers pass it on to their clients.
            throw new InvalidRequestException(field, file, file.isAbsolute() ? "is not found" : "is not in the LoRA folder");
        }
        return found;
    }
}
