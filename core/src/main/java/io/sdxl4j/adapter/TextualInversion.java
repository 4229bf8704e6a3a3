// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import io.sdxl4j.SdxlException;
import io.sdxl4j.model.Component;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.text.ClipTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Textual-inversion embeddings loaded into SDXL's two tokenizers and text encoders as diffusers'
 * {@code load_textual_inversion} loads them (called once per encoder, with {@code clip_l} for
 * {@code text_encoder} / {@code tokenizer} and {@code clip_g} for {@code text_encoder_2} /
 * {@code tokenizer_2}): each vector becomes a token of its own, {@code T}, {@code T_1},
 * {@code T_2}, … for a token {@code T} with several vectors, with the next free ids in loading
 * order; the vectors are appended to the text encoder's token embedding in those rows; and every
 * prompt is rewritten {@code T} → {@code T T_1 …} before tokenizing ({@code maybe_convert_prompt},
 * negative prompts too), the added tokens being split out of the text before BPE.
 *
 * <p>Replicate's SDXL fine-tunes ship {@code embeddings.pti} with {@code text_encoders_0} and
 * {@code text_encoders_1}: as their predictor loads it, row {@code i} becomes token {@code <si>},
 * and a trigger word, when given, is replaced by {@code <s0><s1>…} in prompts (its
 * {@code token_map}).
 *
 * <p>Instances are immutable.
 */
public final class TextualInversion {

    private static final Logger LOG = LoggerFactory.getLogger(TextualInversion.class);

    /**
     * One embedding file: the tokens of each encoder and their vectors.
     *
     * @param trigger for a {@code .pti} file, the word replaced by its tokens in prompts (null: none)
     * @param keys    the file's key of each encoder's vectors ({@code clip_l}, {@code text_encoders_1}, …)
     */
    public record Embedding(Path file, String trigger, Map<Component, List<String>> tokens,
                            Map<Component, float[][]> vectors, Map<Component, String> keys) {
        public Embedding {
            tokens = Map.copyOf(tokens);
            vectors = Map.copyOf(vectors);
            keys = Map.copyOf(keys);
        }
    }

    private final List<Embedding> embeddings;
    private final Map<Component, ClipTokenizer> tokenizers;

    private TextualInversion(List<Embedding> embeddings, Map<Component, ClipTokenizer> tokenizers) {
        this.embeddings = embeddings;
        this.tokenizers = tokenizers;
    }

    /**
     * Reads an embedding file: SDXL's {@code clip_l} ({@code [k, 768]}) and {@code clip_g}
     * ({@code [k, 1280]}), or Replicate's {@code text_encoders_0} / {@code text_encoders_1}.
     *
     * @param token the token the prompts use ({@code <my-style>}); for a {@code .pti} file an
     *              optional trigger word, null for none
     * @throws SdxlException naming the file (and key) when it holds no SDXL embedding
     */
    public static Embedding load(Path file, String token) {
        try (SafeTensors st = SafeTensors.open(file)) {
            boolean pti = st.contains("text_encoders_0") || st.contains("text_encoders_1");
            String[][] keys = pti
                    ? new String[][] {{"text_encoders_0", "TEXT_ENCODER"}, {"text_encoders_1", "TEXT_ENCODER_2"}}
                    : new String[][] {{"clip_l", "TEXT_ENCODER"}, {"clip_g", "TEXT_ENCODER_2"}};
            if (!pti && token == null) {
                throw new IllegalArgumentException("token: an embedding file needs the token prompts use for it");
            }
            if (token != null && token.isBlank()) {
                throw new IllegalArgumentException("token: '" + token + "' is blank");
            }
            Map<Component, List<String>> tokens = new LinkedHashMap<>();
            Map<Component, float[][]> vectors = new LinkedHashMap<>();
            Map<Component, String> sources = new LinkedHashMap<>();
            for (String[] k : keys) {
                if (!st.contains(k[0])) {
                    continue;
                }
                SafeTensors.Entry e = st.entry(k[0]);
                if (e.rank() == 1) {
                    e = new SafeTensors.Entry(e.key(), e.dtype(), new long[] {1, e.dim(0)}, e.begin(), e.end());
                }
                if (e.rank() != 2 || e.dim(0) < 1 || e.dim(1) < 1) {
                    throw new SdxlException(file + ": key " + k[0] + " is " + e.describe()
                            + ", not [vectors, width]");
                }
                int rows = Math.toIntExact(e.dim(0));
                int width = Math.toIntExact(e.dim(1));
                float[] flat = st.floats(k[0]);
                float[][] rowsOf = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    rowsOf[r] = Arrays.copyOfRange(flat, r * width, (r + 1) * width);
                }
                Component c = Component.valueOf(k[1]);
                vectors.put(c, rowsOf);
                sources.put(c, k[0]);
                tokens.put(c, pti ? ptiTokens(rows) : tokens(token, rows));
            }
            if (vectors.isEmpty()) {
                throw new SdxlException(file + ": no SDXL embedding: expected clip_l and clip_g (or text_encoders_0"
                        + " and text_encoders_1)" + (st.contains("emb_params") || st.keys().stream()
                        .anyMatch(x -> x.startsWith("string_to_param")) ? "; this is an SD 1.x embedding" : "")
                        + "; keys: " + st.keys());
            }
            return new Embedding(file, pti ? token : null, tokens, vectors, sources);
        }
    }

    /** diffusers' {@code _retrieve_tokens_and_embeddings}: {@code T}, {@code T_1}, … for k vectors. */
    private static List<String> tokens(String token, int rows) {
        List<String> out = new ArrayList<>(rows);
        out.add(token);
        for (int i = 1; i < rows; i++) {
            out.add(token + "_" + i);
        }
        return out;
    }

    private static List<String> ptiTokens(int rows) {
        List<String> out = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            out.add("<s" + i + ">");
        }
        return out;
    }

    /**
     * Loads {@code embeddings}, in order, into the tokenizers: {@code tokenizer} of
     * {@code text_encoder} (null for a refiner, which has none: {@code clip_l} is then unused) and
     * {@code tokenizer2} of {@code text_encoder_2}.
     *
     * @throws SdxlException naming the file and token when a token is in a vocabulary already
     */
    public static TextualInversion apply(List<Embedding> embeddings, ClipTokenizer tokenizer, ClipTokenizer tokenizer2) {
        Objects.requireNonNull(tokenizer2, "tokenizer2");
        Map<Component, ClipTokenizer> tokenizers = new LinkedHashMap<>();
        if (tokenizer != null) {
            tokenizers.put(Component.TEXT_ENCODER, tokenizer);
        }
        tokenizers.put(Component.TEXT_ENCODER_2, tokenizer2);
        for (Embedding e : embeddings) {
            for (Map.Entry<Component, List<String>> t : e.tokens().entrySet()) {
                ClipTokenizer tok = tokenizers.get(t.getKey());
                if (tok == null) {
                    LOG.debug("{}: no {} in this model; its vectors are unused", e.file(), t.getKey().folder());
                    continue;
                }
                try {
                    tokenizers.put(t.getKey(), tok.withAddedTokens(t.getValue()));
                } catch (IllegalArgumentException ex) {
                    throw new SdxlException(e.file() + ": token " + t.getValue() + " for " + t.getKey().folder()
                            + ": " + ex.getMessage().replaceFirst("^tokens: ", ""));
                }
            }
        }
        return new TextualInversion(List.copyOf(embeddings), Map.copyOf(tokenizers));
    }

    /** The tokenizer of {@code component} with the embeddings' tokens added. */
    public ClipTokenizer tokenizer(Component component) {
        ClipTokenizer t = tokenizers.get(component);
        if (t == null) {
            throw new IllegalArgumentException("component: " + component + " has no tokenizer here");
        }
        return t;
    }

    /**
     * {@code prompt} as {@code component}'s tokenizer is to read it: the {@code .pti} triggers
     * replaced by their tokens, then diffusers' {@code maybe_convert_prompt}: every added token
     * {@code T} the text contains (as the tokenizer splits it) replaced by {@code T T_1 …}.
     */
    public String convertPrompt(Component component, String prompt) {
        if (prompt == null) {
            return null;
        }
        String p = prompt;
        for (Embedding e : embeddings) {
            List<String> toks = e.tokens().get(component);
            if (e.trigger() != null && toks != null) {
                p = p.replace(e.trigger(), String.join("", toks));
            }
        }
        ClipTokenizer tok = tokenizer(component);
        Map<String, Integer> added = tok.addedTokens();
        for (String token : tok.addedTokensIn(p)) {
            StringBuilder replacement = new StringBuilder(token);
            for (int i = 1; added.containsKey(token + "_" + i); i++) {
                replacement.append(' ').append(token).append('_').append(i);
            }
            if (replacement.length() != token.length()) {
                p = p.replace(token, replacement.toString());
            }
        }
        return p;
    }

    /** {@link #convertPrompt} then the tokenizer's padded ids: what the text encoder receives. */
    public long[] encodePadded(Component component, String prompt) {
        return tokenizer(component).encodePadded(convertPrompt(component, prompt));
    }

    /**
     * The replacement for {@code component}'s token embedding (the initializer the Gather of the
     * input ids reads): transformers' {@code resize_token_embeddings(len(tokenizer))}, the original
     * rows up to the first added id, then each added token's vector in its row. Empty when no
     * embedding has vectors for this component. The caller owns the tensor (hand it to
     * {@code Engine.open}).
     *
     * @throws SdxlException naming the file and the key when a vector's width is not the table's
     */
    public Map<String, HostTensor> initializers(Path onnxFile, Component component) {
        ClipTokenizer tok = tokenizer(component);
        if (tok.addedTokens().isEmpty()) {
            return Map.of();
        }
        OnnxModel model = OnnxModel.read(onnxFile, component.label());
        OnnxModel.Embedding table = model.tokenEmbedding().orElseThrow(() -> new SdxlException(component.label()
                + ": no token embedding (a Gather of input_ids on an initializer) in " + onnxFile));
        int firstAdded = tok.size() - tok.addedTokens().size();
        int width = Math.toIntExact(table.width());
        if (table.rows() < firstAdded) {
            throw new SdxlException(component.label() + ": the token embedding " + table.initializer() + " has "
                    + table.rows() + " rows, fewer than the tokenizer's " + firstAdded + " ids");
        }
        float[] original = model.floats(table.initializer());
        int rows = tok.size();
        float[] grown = new float[Math.multiplyExact(rows, width)];
        System.arraycopy(original, 0, grown, 0, firstAdded * width);
        for (Embedding e : embeddings) {
            float[][] vectors = e.vectors().get(component);
            if (vectors == null) {
                continue;
            }
            List<String> toks = e.tokens().get(component);
            for (int i = 0; i < vectors.length; i++) {
                if (vectors[i].length != width) {
                    throw new SdxlException(e.file() + ": key " + e.keys().get(component) + " has vectors of width " + vectors[i].length + " but " + component.label()
                            + "'s token embedding is " + width + " wide");
                }
                int id = tok.addedTokens().get(toks.get(i));
                System.arraycopy(vectors[i], 0, grown, id * width, width);
            }
        }
        LOG.debug("{}: token embedding {} grown to {} rows", component.label(), table.initializer(), rows);
        return Map.of(table.initializer(), AdapterMerge.tensor(table.dataType(), new long[] {rows, width}, grown));
    }
}
