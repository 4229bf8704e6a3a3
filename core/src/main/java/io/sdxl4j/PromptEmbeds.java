// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * One prompt's conditioning: the concatenated penultimate hidden states of the text encoders
 * ({@code [sequenceLength × hiddenSize]}, row-major) and the pooled projection of the last
 * encoder ({@code [pooledSize]}).
 */
public record PromptEmbeds(float[] hidden, float[] pooled) {
}
