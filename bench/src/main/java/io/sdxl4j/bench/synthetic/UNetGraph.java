// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * SDXL's UNet2DConditionModel as an ONNX graph with optimum's input and output names: the
 * sinusoidal time embedding and its MLP, the {@code text_time} addition embedding (six
 * micro-conditioning values, 256 channels each, with the pooled text embedding), conv_in, the down
 * path (DownBlock2D, then CrossAttnDownBlock2D with transformer depth 2 and 10 at SDXL size), the
 * mid block, the up path with skip concatenations and one more ResNet per level, and conv_out.
 * Transformers use linear projections ({@code use_linear_projection}), self- and cross-attention
 * in heads of 64 and a GEGLU feed-forward, as diffusers' BasicTransformerBlock.
 */
final class UNetGraph {

    private static final float NORM_EPS = 1e-5f;
    private static final float TRANSFORMER_NORM_EPS = 1e-6f;
    private static final int TEXT_TOKENS = 77;

    private final GraphBuilder g;
    private final SyntheticConfig c;
    private String context;
    private String temb;

    private UNetGraph(GraphBuilder g, SyntheticConfig c) {
        this.g = g;
        this.c = c;
    }

    /** Writes the UNet into {@code g}. */
    static void build(GraphBuilder g, SyntheticConfig c) {
        new UNetGraph(g, c).build();
    }

    private void build() {
        int type = g.dtype();
        String sample = g.input("sample", type, "batch_size", 4L, "height", "width");
        String timestep = g.input("timestep", type);
        context = g.input("encoder_hidden_states", type, "batch_size", "sequence_length", (long) c.crossAttentionDim());
        String textEmbeds = g.input("text_embeds", type, "batch_size", (long) c.pooledDim());
        String timeIds = g.input("time_ids", type, "batch_size", 6L);

        int[] ch = c.blockChannels();
        int tembDim = c.timeEmbedDim();
        // time_proj (flip_sin_to_cos, freq_shift 0) and time_embedding: Linear–SiLU–Linear.
        String t = g.node("Reshape", List.of(timestep, g.longs(1, 1)));
        String tEmb;
        try (GraphBuilder.Scope s = g.scope("time_proj")) {
            tEmb = sinusoidal(t, ch[0]);
        }
        tEmb = timestepEmbedding("time_embedding", tEmb, ch[0], tembDim);
        // add_time_proj of each time id, concatenated with text_embeds, then add_embedding.
        String ids = g.node("Reshape", List.of(timeIds, g.longs(-1, 1)));
        String idSin;
        try (GraphBuilder.Scope s = g.scope("add_time_proj")) {
            idSin = sinusoidal(ids, SyntheticConfig.ADD_TIME_EMBED_DIM);
        }
        String idEmb = g.node("Reshape", List.of(idSin, g.longs(-1, 6L * SyntheticConfig.ADD_TIME_EMBED_DIM)));
        String addIn = g.node("Concat", List.of(textEmbeds, idEmb), GraphBuilder.intAttr("axis", -1));
        String aug = timestepEmbedding("add_embedding", addIn, c.pooledDim() + 6 * SyntheticConfig.ADD_TIME_EMBED_DIM,
                tembDim);
        temb = g.node("Add", List.of(tEmb, aug));

        String h = g.conv3x3("conv_in", sample, 4, ch[0], 0);
        Deque<String> skips = new ArrayDeque<>();
        Deque<Integer> skipChannels = new ArrayDeque<>();
        skips.push(h);
        skipChannels.push(ch[0]);
        int channels = ch[0];
        for (int level = 0; level < ch.length; level++) {
            try (GraphBuilder.Scope s = g.scope("down_blocks." + level)) {
                for (int i = 0; i < c.layersPerBlock(); i++) {
                    h = g.resnet("resnets." + i, h, channels, ch[level], temb, tembDim, NORM_EPS, level);
                    channels = ch[level];
                    h = transformer("attentions." + i, h, channels, level);
                    skips.push(h);
                    skipChannels.push(channels);
                }
                if (level < ch.length - 1) {
                    // Downsample2D: 3×3 convolution, stride 2, padding 1.
                    try (GraphBuilder.Scope d = g.scope("downsamplers.0")) {
                        h = g.conv("conv", h, channels, channels, 3, 2, new long[] {1, 1, 1, 1}, level + 1);
                    }
                    skips.push(h);
                    skipChannels.push(channels);
                }
            }
        }
        int last = ch.length - 1;
        try (GraphBuilder.Scope s = g.scope("mid_block")) {
            h = g.resnet("resnets.0", h, channels, channels, temb, tembDim, NORM_EPS, last);
            h = transformer("attentions.0", h, channels, last);
            h = g.resnet("resnets.1", h, channels, channels, temb, tembDim, NORM_EPS, last);
        }
        for (int level = last; level >= 0; level--) {
            try (GraphBuilder.Scope s = g.scope("up_blocks." + (last - level))) {
                for (int i = 0; i <= c.layersPerBlock(); i++) {
                    int skipCh = skipChannels.pop();
                    h = g.node("Concat", List.of(h, skips.pop()), GraphBuilder.intAttr("axis", 1));
                    h = g.resnet("resnets." + i, h, channels + skipCh, ch[level], temb, tembDim, NORM_EPS, level);
                    channels = ch[level];
                    h = transformer("attentions." + i, h, channels, level);
                }
                if (level > 0) {
                    h = g.upsample(h, channels, level - 1);
                }
            }
        }
        h = g.conv3x3("conv_out", g.silu("conv_act", g.groupNorm("conv_norm_out", h, channels, 32, NORM_EPS)), channels,
                4, 0);
        g.output(h, "out_sample", type, "batch_size", 4L, "height", "width");
    }

    /** diffusers' get_timestep_embedding with flip_sin_to_cos and freq_shift 0: [cos, sin] of t·exp(−ln(10⁴)·i/half). */
    private String sinusoidal(String t, int dim) {
        int half = dim / 2;
        float[] freqs = new float[half];
        for (int i = 0; i < half; i++) {
            freqs[i] = (float) Math.exp(-Math.log(10000) * i / half);
        }
        String args = g.node("Mul", List.of(t, g.constant(freqs, 1, half)));
        return g.node("Concat", List.of(g.node("Cos", List.of(args)), g.node("Sin", List.of(args))),
                GraphBuilder.intAttr("axis", -1));
    }

    /** TimestepEmbedding as the module {@code module}: linear_1–act–linear_2. */
    private String timestepEmbedding(String module, String x, int in, int out) {
        try (GraphBuilder.Scope s = g.scope(module)) {
            return g.linear("linear_2", g.silu("act", g.linear("linear_1", x, in, out, true, 0, 1)), out, out, true,
                    0, 1);
        }
    }

    /**
     * Transformer2DModel as the module {@code module} ({@code attentions.0}): norm, proj_in,
     * {@code depth} BasicTransformerBlocks ({@code transformer_blocks.k}: norm1, attn1, norm2,
     * attn2, norm3, ff), proj_out; identity (and no module) at depth 0.
     */
    private String transformer(String module, String x, int channels, int level) {
        int depth = c.transformerDepth()[level];
        if (depth == 0) {
            return x;
        }
        double perPixel = 1.0 / Math.pow(4, level);
        int heads = channels / SyntheticConfig.HEAD_DIM;
        try (GraphBuilder.Scope s = g.scope(module)) {
            String tokens = g.toTokens(g.groupNorm("norm", x, channels, 32, TRANSFORMER_NORM_EPS), channels);
            String h = g.linear("proj_in", tokens, channels, channels, true, perPixel, 0);
            for (int i = 0; i < depth; i++) {
                try (GraphBuilder.Scope b = g.scope("transformer_blocks." + i)) {
                    String n1 = g.layerNorm("norm1", h, channels, 1e-5f);
                    String a1;
                    try (GraphBuilder.Scope a = g.scope("attn1")) {
                        a1 = g.attention(n1, n1, channels, channels, heads, false, perPixel, 0, perPixel, 0, null,
                                GraphBuilder.DIFFUSERS_ATTENTION);
                    }
                    h = g.node("Add", List.of(h, a1));
                    String n2 = g.layerNorm("norm2", h, channels, 1e-5f);
                    String a2;
                    try (GraphBuilder.Scope a = g.scope("attn2")) {
                        a2 = g.attention(n2, context, channels, c.crossAttentionDim(), heads, false, perPixel, 0, 0,
                                TEXT_TOKENS, null, GraphBuilder.DIFFUSERS_ATTENTION);
                    }
                    h = g.node("Add", List.of(h, a2));
                    String n3 = g.layerNorm("norm3", h, channels, 1e-5f);
                    h = g.node("Add", List.of(h, geglu(n3, channels, perPixel)));
                }
            }
            String out = g.linear("proj_out", h, channels, channels, true, perPixel, 0);
            return g.node("Add", List.of(g.toImage(out, x), x));
        }
    }

    /**
     * FeedForward with GEGLU as {@code ff}: {@code net.0.proj} to 2 × 4C, split, value · GELU(gate),
     * {@code net.2} back.
     */
    private String geglu(String x, int channels, double perPixel) {
        int inner = 4 * channels;
        try (GraphBuilder.Scope s = g.scope("ff")) {
            String act;
            try (GraphBuilder.Scope n = g.scope("net.0")) {
                String proj = g.linear("proj", x, channels, 2 * inner, true, perPixel, 0);
                String value = g.node("Slice", List.of(proj, g.longs(0), g.longs(inner), g.longs(-1)));
                String gate = g.node("Slice", List.of(proj, g.longs(inner), g.longs(2L * inner), g.longs(-1)));
                act = g.node("Mul", List.of(value, g.gelu(gate)));
            }
            return g.linear("net.2", act, inner, channels, true, perPixel, 0);
        }
    }
}
