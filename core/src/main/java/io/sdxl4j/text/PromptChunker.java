// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * AUTOMATIC1111's chunking of long prompts ({@code FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line}):
 * the weighted segments' tokens fill chunks of 75; a chunk that fills up within 20 tokens after a
 * comma is cut after the comma and the rest moves to the next chunk; BREAK starts a new chunk. Each
 * chunk becomes BOS + 75 tokens (padded with EOS, then the tokenizer's pad) + EOS, with a weight per
 * position (1 for the specials and padding).
 */
public final class PromptChunker {

    /** One 77-token chunk with the weight of each position. */
    public record Chunk(long[] ids, float[] multipliers) {
    }

    static final int CHUNK = 75;
    static final int COMMA_BACKTRACK = 20;

    private PromptChunker() {
    }

    /** The chunks of a parsed prompt for one tokenizer (at least one). */
    public static List<Chunk> chunks(ClipTokenizer tokenizer, List<WeightedPrompt.Segment> segments) {
        List<Chunk> chunks = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        List<Float> weights = new ArrayList<>();
        int comma = tokenizer.commaId();
        int lastComma = -1;
        for (WeightedPrompt.Segment segment : segments) {
            if (segment.isBreak()) {
                chunks.add(finish(tokenizer, tokens, weights));
                tokens = new ArrayList<>();
                weights = new ArrayList<>();
                lastComma = -1;
                continue;
            }
            for (int token : tokenizer.tokens(segment.text())) {
                if (token == comma) {
                    lastComma = tokens.size();
                } else if (tokens.size() == CHUNK && lastComma != -1 && tokens.size() - lastComma <= COMMA_BACKTRACK) {
                    int cut = lastComma + 1;
                    List<Integer> movedTokens = new ArrayList<>(tokens.subList(cut, tokens.size()));
                    List<Float> movedWeights = new ArrayList<>(weights.subList(cut, weights.size()));
                    chunks.add(finish(tokenizer, tokens.subList(0, cut), weights.subList(0, cut)));
                    tokens = movedTokens;
                    weights = movedWeights;
                    lastComma = -1;
                }
                if (tokens.size() == CHUNK) {
                    chunks.add(finish(tokenizer, tokens, weights));
                    tokens = new ArrayList<>();
                    weights = new ArrayList<>();
                    lastComma = -1;
                }
                tokens.add(token);
                weights.add((float) segment.weight());
            }
        }
        if (!tokens.isEmpty() || chunks.isEmpty()) {
            chunks.add(finish(tokenizer, tokens, weights));
        }
        return chunks;
    }

    /** The chunk of the empty prompt (A1111's {@code empty_chunk}), used to pad chunk counts. */
    public static Chunk empty(ClipTokenizer tokenizer) {
        return finish(tokenizer, List.of(), List.of());
    }

    private static Chunk finish(ClipTokenizer tokenizer, List<Integer> tokens, List<Float> weights) {
        long[] ids = new long[CHUNK + 2];
        float[] multipliers = new float[CHUNK + 2];
        Arrays.fill(multipliers, 1f);
        ids[0] = tokenizer.bosId();
        for (int i = 0; i < CHUNK; i++) {
            if (i < tokens.size()) {
                ids[1 + i] = tokens.get(i);
                multipliers[1 + i] = weights.get(i);
            } else {
                ids[1 + i] = tokenizer.eosId();
            }
        }
        ids[CHUNK + 1] = tokenizer.eosId();
        // After the first EOS, the tokenizer's pad (the same id for CLIP ViT-L, "!" for OpenCLIP bigG).
        boolean ended = false;
        for (int i = 1; i < ids.length; i++) {
            if (ended) {
                ids[i] = tokenizer.padId();
            } else if (ids[i] == tokenizer.eosId()) {
                ended = true;
            }
        }
        return new Chunk(ids, multipliers);
    }
}
