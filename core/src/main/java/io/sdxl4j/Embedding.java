// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A textual-inversion embedding file for SDXL, loaded as diffusers' {@code load_textual_inversion}
 * loads one into both text encoders: a file with {@code clip_l} and {@code clip_g} vectors and the
 * token prompts use for it ({@code <my-style>}; k vectors become the tokens {@code T}, {@code T_1}, …
 * and every {@code T} in a prompt is read as all of them), or a Replicate fine-tune's
 * {@code embeddings.pti} ({@code text_encoders_0} / {@code text_encoders_1}, tokens {@code <s0><s1>…},
 * optionally replacing a trigger word).
 *
 * @param file  the {@code .safetensors} or {@code .pti} file
 * @param token the token prompts use ({@code clip_l}/{@code clip_g} files), or a {@code .pti} file's
 *              optional trigger word; empty only for a {@code .pti} file without trigger
 */
public record Embedding(Path file, Optional<String> token) {

    /**
     * @throws InvalidRequestException for the field {@code embeddings} when a token is blank
     */
    public Embedding {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(token, "token");
        if (token.isPresent() && token.get().isBlank()) {
            throw new InvalidRequestException("embeddings", file, "has a blank token");
        }
    }

    /** An SDXL embedding file and its token. */
    public static Embedding of(Path file, String token) {
        return new Embedding(file, Optional.of(Objects.requireNonNull(token, "token")));
    }

    /** A Replicate {@code embeddings.pti}: prompts use its {@code <s0><s1>…} tokens. */
    public static Embedding pti(Path file) {
        return new Embedding(file, Optional.empty());
    }

    /** A Replicate {@code embeddings.pti} whose tokens replace {@code trigger} in prompts. */
    public static Embedding pti(Path file, String trigger) {
        return new Embedding(file, Optional.of(Objects.requireNonNull(trigger, "trigger")));
    }
}
