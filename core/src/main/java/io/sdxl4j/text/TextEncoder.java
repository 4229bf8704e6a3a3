// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.model.ModelSignatures;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * One CLIP text encoder with its tokenizer, bound to fixed buffers: token ids in, the hidden
 * states SDXL conditions on ({@code hidden_states[-(clip_skip + 2)]}, the penultimate layer by
 * default) and, for the projection encoder, {@code text_embeds} out. Each clip skip has its own
 * binding (made on first use) over the same buffers.
 */
final class TextEncoder implements AutoCloseable {

    private final ClipTokenizer tokenizer;
    private final EngineSession session;
    private final HostTensor ids;
    private final HostTensor hidden;
    private final HostTensor pooled;
    private final int hiddenSize;
    private final int lastHiddenState;
    private final Binding[] bindings;
    private final UnaryOperator<String> convert;

    TextEncoder(ClipTokenizer tokenizer, UnaryOperator<String> convert, EngineSession session, boolean withProjection,
                Optional<JsonNode> config) {
        ModelSignatures.checkTextEncoder(session, withProjection);
        this.tokenizer = tokenizer;
        this.convert = convert;
        this.session = session;
        this.lastHiddenState = ModelSignatures.lastHiddenState(session);
        int length = tokenizer.maxLength();
        TensorSpec hiddenSpec = session.output(hiddenStateName(0)).orElseThrow(() -> new SdxlException(
                session.label() + ": output `" + hiddenStateName(0) + "` missing; found hidden states up to "
                        + lastHiddenState));
        this.hiddenSize = (int) size(hiddenSpec, 2, config, "hidden_size", session);
        this.ids = HostTensor.allocate(DataType.INT64, 1, length);
        this.hidden = HostTensor.floats(1, length, hiddenSize);
        if (withProjection) {
            TensorSpec pooledSpec = session.output("text_embeds").orElseThrow();
            this.pooled = HostTensor.floats(1, size(pooledSpec, 1, config, "projection_dim", session));
        } else {
            this.pooled = null;
        }
        this.bindings = new Binding[maxClipSkip() + 1];
        bindings[0] = bind(0);
    }

    private String hiddenStateName(int clipSkip) {
        return "hidden_states." + (lastHiddenState - 1 - clipSkip);
    }

    private Binding bind(int clipSkip) {
        Map<String, HostTensor> outputs = new LinkedHashMap<>();
        String name = hiddenStateName(clipSkip);
        if (session.output(name).isEmpty()) {
            throw new SdxlException(session.label() + ": output `" + name + "` (clip skip " + clipSkip
                    + ") missing");
        }
        outputs.put(name, hidden);
        if (pooled != null) {
            outputs.put("text_embeds", pooled);
        }
        return session.bind(Map.of("input_ids", ids), outputs);
    }

    int hiddenSize() {
        return hiddenSize;
    }

    int pooledSize() {
        return pooled == null ? 0 : pooled.size();
    }

    /** The largest clip skip this encoder serves: down to {@code hidden_states.0}, the embeddings' output. */
    int maxClipSkip() {
        return lastHiddenState - 1;
    }

    ClipTokenizer tokenizer() {
        return tokenizer;
    }

    /** {@code prompt} as this encoder's tokenizer reads it (textual-inversion tokens expanded). */
    String convert(String prompt) {
        return convert.apply(prompt);
    }

    /** Runs the encoder on {@code text}, truncated and padded to the tokenizer's length. */
    void encode(String text, int clipSkip, float[] hiddenOut, int hiddenOffset, int hiddenStride, float[] pooledOut) {
        encodeIds(tokenizer.encodePadded(convert(text)), null, clipSkip, hiddenOut, 0, hiddenOffset, hiddenStride,
                pooledOut);
    }

    /**
     * Runs the encoder on one chunk of token ids and writes the chosen hidden states to rows
     * {@code firstRow…} of {@code hiddenOut} (row stride {@code hiddenStride}, from column
     * {@code hiddenOffset}). With {@code multipliers}, each position is weighted and the chunk's mean
     * restored, as AUTOMATIC1111's "Original" emphasis does.
     */
    void encodeIds(long[] tokens, float[] multipliers, int clipSkip, float[] hiddenOut, int firstRow,
                   int hiddenOffset, int hiddenStride, float[] pooledOut) {
        if (clipSkip < 0 || clipSkip > maxClipSkip()) {
            throw new IllegalArgumentException("clip skip " + clipSkip + " outside [0, " + maxClipSkip() + "]");
        }
        if (bindings[clipSkip] == null) {
            bindings[clipSkip] = bind(clipSkip);
        }
        ids.longBuffer().put(0, tokens);
        bindings[clipSkip].run();
        var h = hidden.floatBuffer();
        int length = tokens.length;
        double scale = 1;
        if (multipliers != null) {
            double originalSum = 0;
            double weightedSum = 0;
            for (int t = 0; t < length; t++) {
                for (int k = 0; k < hiddenSize; k++) {
                    float v = h.get(t * hiddenSize + k);
                    originalSum += v;
                    weightedSum += v * multipliers[t];
                }
            }
            scale = weightedSum == 0 ? 1 : originalSum / weightedSum;
        }
        for (int t = 0; t < length; t++) {
            int row = (firstRow + t) * hiddenStride + hiddenOffset;
            if (multipliers == null) {
                h.get(t * hiddenSize, hiddenOut, row, hiddenSize);
            } else {
                float w = (float) (multipliers[t] * scale);
                for (int k = 0; k < hiddenSize; k++) {
                    hiddenOut[row + k] = h.get(t * hiddenSize + k) * w;
                }
            }
        }
        if (pooled != null && pooledOut != null) {
            pooled.floatBuffer().get(0, pooledOut);
        }
    }

    private static long size(TensorSpec spec, int axis, Optional<JsonNode> config, String key, EngineSession s) {
        if (spec.rank() > axis && spec.dim(axis) > 0) {
            return spec.dim(axis);
        }
        // Some exports leave the width symbolic; the component's config.json then says it.
        return config.map(c -> c.path(key)).filter(JsonNode::canConvertToInt).map(JsonNode::asInt)
                .orElseThrow(() -> new SdxlException(s.label() + ": output `" + spec.name() + "` is "
                        + spec.describe() + " and config.json has no " + key));
    }

    @Override
    public void close() {
        for (Binding b : bindings) {
            if (b != null) {
                b.close();
            }
        }
        ids.close();
        hidden.close();
        if (pooled != null) {
            pooled.close();
        }
        session.close();
    }
}
