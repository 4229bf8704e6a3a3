// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import java.util.Arrays;

/**
 * The architecture of a synthetic SDXL: SDXL base 1.0's exact shapes ({@link #full()}), or scaled
 * down in width and depth for small machines ({@link #scaled}).
 *
 * @param blockChannels    UNet channels per resolution level (320, 640, 1280)
 * @param layersPerBlock   ResNet blocks per down level (2; up levels have one more)
 * @param transformerDepth transformer blocks per attention layer at each level (0, 2, 10; 0 = none)
 * @param textEncoder      CLIP ViT-L (hidden 768, 12 layers)
 * @param textEncoder2     OpenCLIP ViT-bigG (hidden 1280, 32 layers, projection 1280)
 * @param vaeChannels      VAE channels per level (128, 256, 512, 512)
 * @param vaeLayers        ResNet blocks per VAE encoder level (2; decoder levels have one more)
 * @param fp16             weights, inputs and activations in float16
 */
public record SyntheticConfig(int[] blockChannels, int layersPerBlock, int[] transformerDepth, Clip textEncoder,
                              Clip textEncoder2, int[] vaeChannels, int vaeLayers, boolean fp16) {

    /** Heads of 64 channels, as SDXL's attention_head_dim [5, 10, 20] amounts to. */
    public static final int HEAD_DIM = 64;
    /** Channels of each micro-conditioning value's sinusoidal embedding. */
    public static final int ADD_TIME_EMBED_DIM = 256;
    /** CLIP's vocabulary and context length. */
    public static final int VOCAB = 49408;
    public static final int CONTEXT = 77;

    /**
     * A CLIP text transformer.
     *
     * @param quickGelu  CLIP ViT-L's x·σ(1.702x) activation (else erf GELU, as OpenCLIP bigG)
     * @param projection width of the pooled projection ({@code text_embeds}), 0 for none
     */
    public record Clip(int hidden, int layers, int heads, int mlp, boolean quickGelu, int projection) {
    }

    /** SDXL base 1.0: about 2.6 B UNet parameters. */
    public static SyntheticConfig full() {
        return new SyntheticConfig(new int[] {320, 640, 1280}, 2, new int[] {0, 2, 10},
                new Clip(768, 12, 12, 3072, true, 0), new Clip(1280, 32, 20, 5120, false, 1280),
                new int[] {128, 256, 512, 512}, 2, false);
    }

    /**
     * SDXL's architecture with every width multiplied by {@code width} (rounded to whole 64-channel
     * heads) and every depth by {@code depth} (at least one layer where SDXL has any; two for the
     * text encoders, whose penultimate layer SDXL conditions on).
     */
    public static SyntheticConfig scaled(double width, double depth) {
        SyntheticConfig f = full();
        int[] channels = Arrays.stream(f.blockChannels).map(c -> round(c * width, HEAD_DIM)).toArray();
        int[] depths = Arrays.stream(f.transformerDepth).map(d -> d == 0 ? 0 : Math.max(1, (int) Math.round(d * depth)))
                .toArray();
        int[] vae = Arrays.stream(f.vaeChannels).map(c -> round(c * width, 32)).toArray();
        return new SyntheticConfig(channels, f.layersPerBlock, depths, scale(f.textEncoder, width, depth),
                scale(f.textEncoder2, width, depth), vae, f.vaeLayers, false);
    }

    private static Clip scale(Clip c, double width, double depth) {
        int hidden = round(c.hidden() * width, HEAD_DIM);
        return new Clip(hidden, Math.max(2, (int) Math.round(c.layers() * depth)), hidden / HEAD_DIM,
                round(c.mlp() * width, HEAD_DIM), c.quickGelu(), c.projection() == 0 ? 0 : round(c.projection() * width,
                HEAD_DIM));
    }

    private static int round(double v, int multiple) {
        return Math.max(multiple, (int) Math.round(v / multiple) * multiple);
    }

    /**
     * This UNet with SDXL base 1.0's full-size text encoders and VAE: the model the load and
     * whole-image comparison with diffusers runs (full-size encoders and VAE, a scaled UNet whose
     * cross-attention then takes the full 2048-wide context and 1280-wide pooled embedding).
     */
    public SyntheticConfig withFullTextAndVae() {
        SyntheticConfig f = full();
        return new SyntheticConfig(blockChannels, layersPerBlock, transformerDepth, f.textEncoder, f.textEncoder2,
                f.vaeChannels, f.vaeLayers, fp16);
    }

    /** The same architecture in float16. */
    public SyntheticConfig withFp16(boolean enabled) {
        return new SyntheticConfig(blockChannels, layersPerBlock, transformerDepth, textEncoder, textEncoder2,
                vaeChannels, vaeLayers, enabled);
    }

    /** Width of the UNet's cross-attention context: both encoders' hidden states concatenated. */
    public int crossAttentionDim() {
        return textEncoder.hidden() + textEncoder2.hidden();
    }

    /** Width of the pooled text embedding. */
    public int pooledDim() {
        return textEncoder2.projection();
    }

    /** The UNet's time embedding width: 4 × the first level's channels. */
    public int timeEmbedDim() {
        return 4 * blockChannels[0];
    }

    @Override
    public String toString() {
        return "SyntheticConfig[unet " + Arrays.toString(blockChannels) + " depth " + Arrays.toString(transformerDepth)
                + ", text " + textEncoder.hidden() + "x" + textEncoder.layers() + " + " + textEncoder2.hidden() + "x"
                + textEncoder2.layers() + ", vae " + Arrays.toString(vaeChannels) + (fp16 ? ", fp16" : ", fp32") + "]";
    }
}
