// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Objects;

/**
 * The negative prompt: a text, or none. The two differ as in diffusers: with none, SDXL base
 * conditions its unconditional branch on zero embeddings ({@code force_zeros_for_empty_prompt})
 * while the refiner encodes the empty string; a text — the empty one too — is encoded like the
 * prompt.
 */
public sealed interface NegativePrompt {

    /** No negative prompt: zero embeddings on SDXL base. */
    NegativePrompt NONE = new None();

    /** A negative prompt text (may be empty, which is not the same as {@link #NONE}). */
    static NegativePrompt of(String text) {
        return new Text(text);
    }

    /** No negative prompt. */
    record None() implements NegativePrompt {
        @Override
        public String toString() {
            return "none";
        }
    }

    /** A negative prompt text. */
    record Text(String text) implements NegativePrompt {
        /**
         * @throws InvalidRequestException for the field {@code negativePrompt} when null
         */
        public Text {
            if (text == null) {
                throw new InvalidRequestException("negativePrompt", null, "missing (use NegativePrompt.NONE for none)");
            }
        }

        @Override
        public String toString() {
            return Objects.toString(text);
        }
    }
}
