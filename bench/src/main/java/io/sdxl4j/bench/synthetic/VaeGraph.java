// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import java.util.List;

/**
 * SDXL's AutoencoderKL halves as optimum exports them: {@code vae_decoder} (post_quant_conv, the
 * decoder's mid block with single-head attention, up blocks of one more ResNet than the encoder's
 * down blocks, nearest ×2 upsampling) and {@code vae_encoder} (down blocks with diffusers'
 * asymmetric (0, 1, 0, 1) padding before each stride-2 convolution, mid block, quant_conv to the
 * eight latent parameters). Levels count from the latent resolution (negative = larger). Nodes
 * and parameters are named in diffusers' module scopes ({@code decoder.up_blocks.0.resnets.0.conv1},
 * {@code post_quant_conv}).
 */
final class VaeGraph {

    private static final float EPS = 1e-6f;

    private VaeGraph() {
    }

    static void decoder(GraphBuilder g, SyntheticConfig c) {
        int type = g.dtype();
        int[] ch = c.vaeChannels();
        int top = ch.length - 1;
        String z = g.input("latent_sample", type, "batch_size", 4L, "latent_height", "latent_width");
        String h = g.conv("post_quant_conv", z, 4, 4, 1, 1, new long[] {0, 0, 0, 0}, 0);
        int channels = ch[top];
        int level = 0;
        try (GraphBuilder.Scope d = g.scope("decoder")) {
            h = g.conv3x3("conv_in", h, 4, ch[top], 0);
            h = mid(g, h, ch[top]);
            for (int i = top; i >= 0; i--) {
                try (GraphBuilder.Scope u = g.scope("up_blocks." + (top - i))) {
                    for (int j = 0; j <= c.vaeLayers(); j++) {
                        h = g.resnet("resnets." + j, h, channels, ch[i], null, 0, EPS, level);
                        channels = ch[i];
                    }
                    if (i > 0) {
                        level--;
                        h = g.upsample(h, channels, level);
                    }
                }
            }
            h = g.conv3x3("conv_out", g.silu("conv_act", g.groupNorm("conv_norm_out", h, channels, 32, EPS)), channels,
                    3, level);
        }
        g.output(h, "sample", type, "batch_size", 3L, "height", "width");
    }

    static void encoder(GraphBuilder g, SyntheticConfig c) {
        int type = g.dtype();
        int[] ch = c.vaeChannels();
        int top = ch.length - 1;
        String x = g.input("sample", type, "batch_size", 3L, "sample_height", "sample_width");
        int level = -top;
        String h;
        try (GraphBuilder.Scope e = g.scope("encoder")) {
            h = g.conv3x3("conv_in", x, 3, ch[0], level);
            int channels = ch[0];
            for (int i = 0; i <= top; i++) {
                try (GraphBuilder.Scope d = g.scope("down_blocks." + i)) {
                    for (int j = 0; j < c.vaeLayers(); j++) {
                        h = g.resnet("resnets." + j, h, channels, ch[i], null, 0, EPS, level);
                        channels = ch[i];
                    }
                    if (i < top) {
                        level++;
                        try (GraphBuilder.Scope s = g.scope("downsamplers.0")) {
                            h = g.conv("conv", h, channels, channels, 3, 2, new long[] {0, 0, 1, 1}, level);
                        }
                    }
                }
            }
            h = mid(g, h, channels);
            h = g.conv3x3("conv_out", g.silu("conv_act", g.groupNorm("conv_norm_out", h, channels, 32, EPS)), channels,
                    8, 0);
        }
        h = g.conv("quant_conv", h, 8, 8, 1, 1, new long[] {0, 0, 0, 0}, 0);
        g.output(h, "latent_parameters", type, "batch_size", 8L, "latent_height", "latent_width");
    }

    /** UNetMidBlock2D as {@code mid_block}: ResNet, single-head self-attention over the latent pixels, ResNet. */
    private static String mid(GraphBuilder g, String x, int channels) {
        try (GraphBuilder.Scope m = g.scope("mid_block")) {
            String h = g.resnet("resnets.0", x, channels, channels, null, 0, EPS, 0);
            String attn;
            String tokens;
            try (GraphBuilder.Scope a = g.scope("attentions.0")) {
                tokens = g.toTokens(g.groupNorm("group_norm", h, channels, 32, EPS), channels);
                attn = g.attention(tokens, tokens, channels, channels, 1, true, 1, 0, 1, 0, null,
                        GraphBuilder.DIFFUSERS_ATTENTION);
                attn = g.toImage(attn, h);
            }
            h = g.node("Add", List.of(attn, h));
            return g.resnet("resnets.1", h, channels, channels, null, 0, EPS, 0);
        }
    }
}
