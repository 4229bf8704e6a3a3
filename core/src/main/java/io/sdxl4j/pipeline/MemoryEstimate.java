// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.ImageInput;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import java.util.List;

/**
 * The peak working memory of one request, estimated from the models' shapes before any work: what
 * a generation allocates beyond the loaded weights, in the phase that needs the most. The terms
 * are those that grow with the image: the attention score matrices of every self-attention level
 * of the UNet ({@code batch × heads × T²} for {@code T} latent positions at that level, where the
 * batch doubles with classifier-free guidance) and of the VAE's mid block (one head over every
 * latent position, per image: the VAE decodes one image at a time), the convolution activations
 * of both at each resolution, the decoded input images and the output pixels. The shapes come
 * from the UNet's and the VAE's {@code config.json} (diffusers' names: {@code block_out_channels},
 * {@code down_block_types}, {@code attention_head_dim}/{@code num_attention_heads},
 * {@code transformer_layers_per_block}, {@code layers_per_block}); SDXL's values stand in for an
 * export without them.
 *
 * <p>It is an estimate, meant to be an upper bound of the right order rather than an exact figure:
 * each score matrix counts three times (the product, its scaled copy and the softmax, as an
 * unfused graph holds them), elements count four bytes (ONNX Runtime computes float16 exports'
 * attention in float32 on the CPU), and the whole is doubled for the allocator's rounding of its
 * regions (measured on the built-in tiny model at 192×192: 1.9 GB more resident at the peak, 2.2 GB
 * estimated). On the built-in tiny model (VAE scale factor 2), 512×512 estimates tens of
 * gigabytes: its VAE's attention alone is a 65536² matrix.
 */
public final class MemoryEstimate {

    /** Bytes per activation element. */
    private static final long ELEMENT = 4;
    /** Live copies of a score matrix: the product, its scaled copy, the softmax. */
    private static final long SCORE_COPIES = 3;
    /** Live activations of one resolution in a residual block: input, normalized, convolved, residual. */
    private static final long ACTIVATION_COPIES = 4;
    /** The allocator's rounding (an arena grows by regions of up to twice the request), as a factor. */
    private static final double ALLOCATOR = 2;
    /** Text encoding, schedulers, buffers: what does not grow with the image. */
    private static final long FIXED = 64L << 20;

    private MemoryEstimate() {
    }

    /**
     * The estimated peak in bytes of running {@code r}.
     *
     * @param refiner the refiner model when the request uses it, else null
     */
    public static long peakBytes(LoadedModel base, LoadedModel refiner, ResolvedRequest r) {
        int scale = base.folder().vae().scaleFactor();
        long h = Math.max(1, r.height() / scale);
        long w = Math.max(1, r.width() / scale);
        long samples = r.request().samples();
        long batch = samples * (r.guidance() ? 2 : 1);
        long outputPixels = (long) r.width() * r.height();

        long unet = unet(base.folder(), batch, h, w);
        if (refiner != null) {
            unet = Math.max(unet, unet(refiner.folder(), batch, h, w));
        }
        LoadedModel decoder = refiner != null ? refiner : base;
        // The decoded images accumulate (float RGB) while the next one decodes; then they are encoded.
        long images = samples * outputPixels * (3 * ELEMENT + 8);
        long decode = vae(decoder.folder(), h, w) + images;
        long encode = 0;
        ImageInput image = null;
        ImageInput mask = null;
        switch (r.request().mode()) {
            case GenerationMode.TextToImage t -> {
            }
            case GenerationMode.ImageToImage i -> image = i.image();
            case GenerationMode.Inpaint i -> {
                image = i.image();
                mask = i.mask();
            }
        }
        if (image != null) {
            // Decoding (ARGB, then RGB), resizing to the output size, the pixel tensor; the encoder's activations.
            long inputs = inputPixels(image) + inputPixels(mask);
            encode = inputs * 2 * 4 + outputPixels * (4 + 3 * ELEMENT) * 2 + vae(base.folder(), h, w);
        }
        long latents = batch * 4 * h * w * ELEMENT * 8;
        long peak = Math.max(unet, Math.max(decode, encode)) + latents + FIXED;
        return (long) Math.min(Long.MAX_VALUE / 2.0, peak * ALLOCATOR);
    }

    private static long inputPixels(ImageInput image) {
        return image == null ? 0 : (long) image.width() * image.height();
    }

    /** One UNet call on {@code batch} rows of {@code h × w} latents. */
    private static long unet(ModelFolder folder, long batch, long h, long w) {
        JsonNode c = folder.config(Component.UNET).orElse(null);
        List<Integer> channels = ints(c, "block_out_channels", List.of(320, 640, 1280));
        int levels = channels.size();
        JsonNode types = c == null ? null : c.path("down_block_types");
        JsonNode headsNode = c == null ? null : c.get("num_attention_heads");
        if (headsNode == null || headsNode.isNull()) {
            headsNode = c == null ? null : c.get("attention_head_dim"); // diffusers' legacy name for the heads
        }
        int layers = c == null ? 2 : c.path("layers_per_block").asInt(2);
        long attention = 0;
        long activations = 0;
        long feedForward = 0;
        for (int level = 0; level < levels; level++) {
            long lh = ceilShift(h, level);
            long lw = ceilShift(w, level);
            long positions = lh * lw;
            long ch = channels.get(level);
            activations += batch * ch * positions * ELEMENT * (2L * layers + 4);
            boolean attends = types == null || !types.isArray() ? level > 0
                    : types.path(level).asText("").contains("CrossAttn");
            boolean mid = level == levels - 1 && (c == null || c.path("mid_block_type").asText("UNetMidBlock2DCrossAttn")
                    .contains("CrossAttn"));
            if (attends || mid) {
                long heads = at(headsNode, level, level == 0 ? 5 : 5L << (level - 1));
                attention = Math.max(attention, batch * heads * positions * positions * ELEMENT * SCORE_COPIES);
                // GEGLU's projection to 2 × 4 channels.
                feedForward = Math.max(feedForward, batch * positions * 8 * ch * ELEMENT);
            }
        }
        return attention + activations + feedForward;
    }

    /** The VAE (decoder or encoder) on one image of {@code h × w} latents. */
    private static long vae(ModelFolder folder, long h, long w) {
        JsonNode c = folder.config(Component.VAE_DECODER).orElse(null);
        List<Integer> channels = ints(c, "block_out_channels", List.of(128, 256, 512, 512));
        long positions = h * w;
        // The mid block's attention: one head over every latent position.
        long attention = positions * positions * ELEMENT * SCORE_COPIES;
        long activations = 0;
        int levels = channels.size();
        for (int level = 0; level < levels; level++) {
            // Level 0 runs at full resolution with the first block's channels; the deepest at the latents'.
            long side = 1L << (levels - 1 - level);
            long pixels = positions * side * side;
            activations = Math.max(activations, channels.get(level) * pixels * ELEMENT * ACTIVATION_COPIES);
        }
        return attention + activations;
    }

    private static long ceilShift(long v, int shift) {
        return (v + (1L << shift) - 1) >> shift;
    }

    private static long at(JsonNode node, int index, long fallback) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (node.isArray()) {
            JsonNode n = node.path(Math.min(index, node.size() - 1));
            return n.canConvertToLong() ? Math.max(1, n.asLong()) : fallback;
        }
        return node.canConvertToLong() ? Math.max(1, node.asLong()) : fallback;
    }

    private static List<Integer> ints(JsonNode config, String key, List<Integer> fallback) {
        JsonNode n = config == null ? null : config.get(key);
        if (n == null || !n.isArray() || n.isEmpty()) {
            return fallback;
        }
        Integer[] out = new Integer[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.max(1, n.get(i).asInt(1));
        }
        return List.of(out);
    }
}
