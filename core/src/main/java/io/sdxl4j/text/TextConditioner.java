// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import io.sdxl4j.ModelInfo.Kind;
import io.sdxl4j.PromptEmbeds;
import io.sdxl4j.PromptMode;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SDXL's text conditioning: each prompt through both text encoders (the refiner has only the
 * second), their {@code hidden_states[-2]} concatenated along the feature axis ([77, 768 + 1280]
 * for SDXL), and the pooled {@code text_embeds} of the second encoder ([1280]), as diffusers'
 * {@code StableDiffusionXLPipeline.encode_prompt} computes them.
 */
public final class TextConditioner implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TextConditioner.class);

    private final List<TextEncoder> encoders;
    private final int sequenceLength;
    private final int hiddenSize;
    private final int pooledSize;

    private TextConditioner(List<TextEncoder> encoders) {
        this.encoders = encoders;
        this.sequenceLength = encoders.get(0).tokenizer().maxLength();
        this.hiddenSize = encoders.stream().mapToInt(TextEncoder::hiddenSize).sum();
        this.pooledSize = encoders.get(encoders.size() - 1).pooledSize();
    }

    /**
     * Opens the text encoders and tokenizers of a model folder, checking their signatures.
     *
     * @throws io.sdxl4j.SdxlException naming the file that is missing or does not fit
     */
    public static TextConditioner open(ModelFolder folder, Engine engine) {
        return open(folder, engine, Adapted.NONE);
    }

    /**
     * What adapters change in the text conditioning: tokenizers with the embeddings' tokens (and
     * the prompt conversion that goes with them), and replacement weights per encoder (merged LoRA
     * weights, grown token embeddings), whose ownership passes to the encoders' sessions.
     *
     * @param tokenizer   each encoder's tokenizer and prompt conversion, for the encoders it names
     * @param initializers each encoder's replacement weights
     */
    public record Adapted(Map<Component, Tokenization> tokenizer, Map<Component, Map<String, HostTensor>> initializers) {
        /** No adapters. */
        public static final Adapted NONE = new Adapted(Map.of(), Map.of());
    }

    /** A tokenizer and the rewrite of prompts it reads (diffusers' {@code maybe_convert_prompt}). */
    public record Tokenization(ClipTokenizer tokenizer, UnaryOperator<String> convert) {
    }

    /**
     * Opens the text encoders with adapters; the replacement weights of every encoder belong to the
     * encoders from the call on (closed here when opening fails).
     */
    public static TextConditioner open(ModelFolder folder, Engine engine, Adapted adapted) {
        List<TextEncoder> encoders = new ArrayList<>();
        Map<Component, Map<String, HostTensor>> pending = new java.util.HashMap<>(adapted.initializers());
        try {
            if (folder.kind() == Kind.BASE) {
                encoders.add(openEncoder(folder, engine, Component.TEXT_ENCODER, 1, false, adapted, pending));
            }
            encoders.add(openEncoder(folder, engine, Component.TEXT_ENCODER_2, 2, true, adapted, pending));
            return new TextConditioner(List.copyOf(encoders));
        } catch (RuntimeException e) {
            encoders.forEach(TextEncoder::close);
            pending.values().forEach(m -> m.values().forEach(HostTensor::close));
            throw e;
        }
    }

    private static TextEncoder openEncoder(ModelFolder folder, Engine engine, Component component, int tokenizerIndex,
                                           boolean withProjection, Adapted adapted,
                                           Map<Component, Map<String, HostTensor>> pending) {
        Tokenization tokenization = adapted.tokenizer().get(component);
        ClipTokenizer tokenizer = tokenization != null ? tokenization.tokenizer()
                : ClipTokenizer.load(folder.tokenizer(tokenizerIndex));
        Map<String, HostTensor> initializers = pending.remove(component);
        EngineSession session = engine.open(folder.onnx(component), component.label(),
                initializers == null ? Map.of() : initializers);
        try {
            return new TextEncoder(tokenizer, tokenization == null ? UnaryOperator.identity() : tokenization.convert(),
                    session, withProjection, folder.config(component));
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /** Tokens per prompt (77). */
    public int sequenceLength() {
        return sequenceLength;
    }

    /** Width of the concatenated hidden states (2048 for SDXL, 1280 for its refiner). */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** Width of the pooled embedding (1280). */
    public int pooledSize() {
        return pooledSize;
    }

    /** The tokenizers, first encoder first. */
    public List<ClipTokenizer> tokenizers() {
        return encoders.stream().map(TextEncoder::tokenizer).toList();
    }

    /** The largest clip skip both encoders serve. */
    public int maxClipSkip() {
        return encoders.stream().mapToInt(TextEncoder::maxClipSkip).min().orElse(0);
    }

    /**
     * Encodes one prompt as diffusers does: literal text, truncated to the encoders' 75 content tokens
     * (with a warning in the log when that cuts the prompt), the penultimate layers.
     */
    public PromptEmbeds encode(String prompt) {
        return encode(prompt, PromptMode.DIFFUSERS, 0);
    }

    /**
     * Encodes one prompt in the given mode, from {@code hidden_states[-(clipSkip + 2)]} of each
     * encoder. In {@link PromptMode#A1111} mode the result has one 77-token row block per chunk (the
     * sequence is 77·chunks long) and the pooled embedding of the first chunk, as AUTOMATIC1111
     * returns for SDXL.
     */
    public PromptEmbeds encode(String prompt, PromptMode mode, int clipSkip) {
        if (mode == PromptMode.DIFFUSERS) {
            float[] hidden = new float[sequenceLength * hiddenSize];
            float[] pooled = new float[pooledSize];
            int offset = 0;
            for (int i = 0; i < encoders.size(); i++) {
                TextEncoder e = encoders.get(i);
                e.encode(prompt, clipSkip, hidden, offset, hiddenSize, i == encoders.size() - 1 ? pooled : null);
                offset += e.hiddenSize();
            }
            int tokens = encoders.get(0).tokenizer().encode(encoders.get(0).convert(prompt)).length;
            if (tokens > sequenceLength && LOG.isWarnEnabled()) {
                LOG.warn("prompt has {} tokens; CLIP takes {}, the rest is truncated", tokens - 2, sequenceLength - 2);
            }
            return new PromptEmbeds(hidden, pooled);
        }
        List<List<PromptChunker.Chunk>> perEncoder = new ArrayList<>();
        int chunks = 1;
        for (TextEncoder e : encoders) {
            // Embeddings' tokens are expanded before A1111's weights are read, as the web UI does.
            List<PromptChunker.Chunk> c = PromptChunker.chunks(e.tokenizer(), WeightedPrompt.parse(e.convert(prompt)));
            perEncoder.add(c);
            chunks = Math.max(chunks, c.size());
        }
        return encodeChunks(perEncoder, chunks, clipSkip);
    }

    /**
     * Pads {@code embeds} with chunks of the empty prompt up to {@code chunks} chunks, as
     * AUTOMATIC1111 pads the shorter of a prompt and its negative.
     */
    public PromptEmbeds padTo(PromptEmbeds embeds, int chunks, int clipSkip) {
        int have = embeds.hidden().length / (sequenceLength * hiddenSize);
        if (have >= chunks) {
            return embeds;
        }
        List<List<PromptChunker.Chunk>> empty = new ArrayList<>();
        for (TextEncoder e : encoders) {
            List<PromptChunker.Chunk> c = new ArrayList<>();
            for (int i = have; i < chunks; i++) {
                c.add(PromptChunker.empty(e.tokenizer()));
            }
            empty.add(c);
        }
        PromptEmbeds padding = encodeChunks(empty, chunks - have, clipSkip);
        float[] hidden = java.util.Arrays.copyOf(embeds.hidden(), chunks * sequenceLength * hiddenSize);
        System.arraycopy(padding.hidden(), 0, hidden, embeds.hidden().length, padding.hidden().length);
        return new PromptEmbeds(hidden, embeds.pooled());
    }

    /** The number of 77-token chunks of an encoding. */
    public int chunks(PromptEmbeds embeds) {
        return embeds.hidden().length / (sequenceLength * hiddenSize);
    }

    private PromptEmbeds encodeChunks(List<List<PromptChunker.Chunk>> perEncoder, int chunks, int clipSkip) {
        float[] hidden = new float[chunks * sequenceLength * hiddenSize];
        float[] pooled = new float[pooledSize];
        int offset = 0;
        for (int e = 0; e < encoders.size(); e++) {
            TextEncoder encoder = encoders.get(e);
            List<PromptChunker.Chunk> own = perEncoder.get(e);
            boolean last = e == encoders.size() - 1;
            for (int c = 0; c < chunks; c++) {
                PromptChunker.Chunk chunk = c < own.size() ? own.get(c) : PromptChunker.empty(encoder.tokenizer());
                encoder.encodeIds(chunk.ids(), chunk.multipliers(), clipSkip, hidden, c * sequenceLength, offset,
                        hiddenSize, last && c == 0 ? pooled : null);
            }
            offset += encoder.hiddenSize();
        }
        return new PromptEmbeds(hidden, pooled);
    }

    /** Zero embeddings, SDXL's unconditional input when no negative prompt is given. */
    public PromptEmbeds zeros() {
        return new PromptEmbeds(new float[sequenceLength * hiddenSize], new float[pooledSize]);
    }

    @Override
    public void close() {
        encoders.forEach(TextEncoder::close);
    }
}
