// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/** How prompt text becomes token embeddings. */
public enum PromptMode {
    /**
     * As diffusers' SDXL pipelines: the text is taken literally and truncated to the encoders' 77
     * tokens. The default, and what the conformance cases use.
     */
    DIFFUSERS,
    /**
     * As AUTOMATIC1111's web UI: attention syntax ({@code (word)}, {@code ((word))},
     * {@code (word:1.3)}, {@code [word]}, {@code \(} escapes) weights the token embeddings, and
     * prompts of any length are encoded in 75-token chunks (split early at a nearby comma, or at
     * {@code BREAK}) concatenated along the sequence.
     */
    A1111
}
