// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import java.util.List;

/**
 * A CLIP text transformer as transformers' CLIPTextModel (text_encoder) or
 * CLIPTextModelWithProjection (text_encoder_2) exports with {@code output_hidden_states}: token
 * and position embeddings, pre-norm layers with causal self-attention, the final LayerNorm, and
 * the pooled output taken at the end-of-text token (the arg-max id, as transformers does for
 * these checkpoints), projected for the second encoder. Nodes and parameters are named in
 * transformers' module scopes ({@code text_model.encoder.layers.0.self_attn.q_proj},
 * {@code text_model.embeddings.token_embedding}, {@code text_projection}), as optimum exports them.
 */
final class ClipTextGraph {

    private ClipTextGraph() {
    }

    /** Writes the encoder into {@code g}. */
    static void build(GraphBuilder g, SyntheticConfig.Clip c) {
        int type = g.dtype();
        int h = c.hidden();
        String ids = g.input("input_ids", GraphBuilder.INT64, "batch_size", "sequence_length");
        String pooled;
        String last;
        String[] hidden = new String[c.layers() + 1];
        try (GraphBuilder.Scope text = g.scope("text_model")) {
            String x;
            String length;
            int n = SyntheticConfig.CONTEXT;
            try (GraphBuilder.Scope e = g.scope("embeddings")) {
                String tokens;
                try (GraphBuilder.Scope t = g.scope("token_embedding")) {
                    tokens = g.node("Gather", List.of(g.parameter("weight", 1, SyntheticConfig.VOCAB, h), ids));
                }
                length = g.node("Slice", List.of(g.node("Shape", List.of(ids)), g.longs(1), g.longs(2), g.longs(0)));
                String positions;
                try (GraphBuilder.Scope p = g.scope("position_embedding")) {
                    positions = g.node("Slice", List.of(g.parameter("weight", 1, n, h), g.longs(0), length,
                            g.longs(0)));
                }
                x = g.node("Add", List.of(tokens, positions));
            }

            // Causal mask: the dtype's lowest value above the diagonal, as transformers builds it.
            float lowest = type == GraphBuilder.FLOAT ? -Float.MAX_VALUE : -65504f;
            float[] mask = new float[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    mask[i * n + j] = lowest;
                }
            }
            String causal = g.node("Slice", List.of(g.constant(mask, n, n), g.longs(0, 0),
                    g.node("Concat", List.of(length, length), GraphBuilder.intAttr("axis", 0)), g.longs(0, 1)));

            hidden[0] = x;
            try (GraphBuilder.Scope enc = g.scope("encoder")) {
                for (int layer = 0; layer < c.layers(); layer++) {
                    try (GraphBuilder.Scope l = g.scope("layers." + layer)) {
                        String n1 = g.layerNorm("layer_norm1", x, h, 1e-5f);
                        String attn;
                        try (GraphBuilder.Scope a = g.scope("self_attn")) {
                            attn = g.attention(n1, n1, h, h, c.heads(), true, 0, n, 0, n, causal,
                                    GraphBuilder.CLIP_ATTENTION);
                        }
                        x = g.node("Add", List.of(x, attn));
                        String n2 = g.layerNorm("layer_norm2", x, h, 1e-5f);
                        try (GraphBuilder.Scope m = g.scope("mlp")) {
                            String fc1 = g.linear("fc1", n2, h, c.mlp(), true, 0, n);
                            String act;
                            try (GraphBuilder.Scope f = g.scope("activation_fn")) {
                                act = c.quickGelu() ? g.quickGelu(fc1) : g.gelu(fc1);
                            }
                            x = g.node("Add", List.of(x, g.linear("fc2", act, c.mlp(), h, true, 0, n)));
                        }
                        hidden[layer + 1] = x;
                    }
                }
            }
            last = g.layerNorm("final_layer_norm", x, h, 1e-5f);
            // transformers casts the ids to int32 for the arg-max.
            String eos = g.node("ArgMax", List.of(g.node("Cast", List.of(ids), GraphBuilder.intAttr("to",
                    GraphBuilder.INT32))), GraphBuilder.intAttr("axis", -1), GraphBuilder.intAttr("keepdims", 1));
            pooled = g.node("GatherND", List.of(last, eos), GraphBuilder.intAttr("batch_dims", 1));
        }

        if (c.projection() > 0) {
            String projected;
            try (GraphBuilder.Scope p = g.scope("text_projection")) {
                // A Linear without bias: its transposed weight folded as onnx::MatMul_N.
                projected = g.linear(pooled, h, c.projection(), false, 0, 1);
            }
            g.output(projected, "text_embeds", type, "batch_size", (long) c.projection());
            g.output(last, "last_hidden_state", type, "batch_size", "sequence_length", (long) h);
        } else {
            g.output(last, "last_hidden_state", type, "batch_size", "sequence_length", (long) h);
            g.output(pooled, "pooler_output", type, "batch_size", (long) h);
        }
        for (int i = 0; i < hidden.length; i++) {
            g.output(hidden[i], "hidden_states." + i, type, "batch_size", "sequence_length", (long) h);
        }
    }
}
