// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.engine.Binding;
import io.sdxl4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every buffer of the denoising loop for one generation shape (images, guidance on or off, latent
 * height and width), allocated once and bound to the UNet once; generations of the same shape
 * reuse it, so no step allocates.
 *
 * <p>Under classifier-free guidance the UNet batch is {@code [unconditional rows; conditional rows]},
 * as in diffusers.
 */
public final class Workspace implements AutoCloseable {

    private final int images;
    private final boolean guidance;
    private final int latentHeight;
    private final int latentWidth;
    private final int sequenceLength;
    private final List<HostTensor> owned = new ArrayList<>();

    /** The latents, [images, 4, h, w]. */
    public final HostTensor latents;
    /** The UNet's sample input, [rows, inChannels, h, w]. */
    public final HostTensor unetSample;
    /** The UNet's output, [rows, 4, h, w]. */
    public final HostTensor unetOut;
    /** The guided noise prediction, [images, 4, h, w] (the UNet output itself without guidance). */
    public final HostTensor guided;
    /** Text conditioning, [rows, 77, hidden]. */
    public final HostTensor encoderHiddenStates;
    /** Pooled text conditioning, [rows, pooled]. */
    public final HostTensor textEmbeds;
    /** SDXL's size conditioning, [rows, timeIds]. */
    public final HostTensor timeIds;
    /** The timestep in the UNet's declared type and shape. */
    public final HostTensor timestep;
    /** The guidance embedding of guidance-distilled UNets, [rows, time_cond_proj_dim]; null otherwise. */
    public final HostTensor timestepCond;
    /** The UNet bound to these buffers. */
    public final Binding unet;

    final HostTensor[] sampleHalves;
    final HostTensor[] outHalves;
    final HostTensor[] guidedItems;

    public Workspace(UNet model, int images, boolean guidance, int latentChannels, int latentHeight, int latentWidth,
              int sequenceLength, int hiddenSize, int pooledSize) {
        this.images = images;
        this.guidance = guidance;
        this.latentHeight = latentHeight;
        this.latentWidth = latentWidth;
        this.sequenceLength = sequenceLength;
        int rows = guidance ? 2 * images : images;
        try {
            latents = own(HostTensor.floats(images, latentChannels, latentHeight, latentWidth));
            unetSample = own(HostTensor.floats(rows, model.inChannels(), latentHeight, latentWidth));
            unetOut = own(HostTensor.floats(rows, latentChannels, latentHeight, latentWidth));
            guided = guidance ? own(HostTensor.floats(images, latentChannels, latentHeight, latentWidth)) : unetOut;
            encoderHiddenStates = own(HostTensor.floats(rows, sequenceLength, hiddenSize));
            textEmbeds = own(HostTensor.floats(rows, pooledSize));
            timeIds = own(HostTensor.floats(rows, model.timeIds()));
            timestep = own(model.allocateTimestep(rows));
            timestepCond = model.hasTimestepCond() ? own(HostTensor.floats(rows, model.timestepCondDim())) : null;
            sampleHalves = guidance
                    ? new HostTensor[] {unetSample.slice(0, images), unetSample.slice(images, rows)}
                    : new HostTensor[] {unetSample};
            outHalves = guidance
                    ? new HostTensor[] {unetOut.slice(0, images), unetOut.slice(images, rows)}
                    : new HostTensor[] {unetOut};
            guidedItems = new HostTensor[images];
            for (int i = 0; i < images; i++) {
                guidedItems[i] = guided.slice(i, i + 1);
            }
            Map<String, HostTensor> inputs = new LinkedHashMap<>();
            inputs.put("sample", unetSample);
            inputs.put("timestep", timestep);
            inputs.put("encoder_hidden_states", encoderHiddenStates);
            inputs.put("text_embeds", textEmbeds);
            inputs.put("time_ids", timeIds);
            if (timestepCond != null) {
                inputs.put("timestep_cond", timestepCond);
            }
            unet = model.session().bind(inputs, Map.of("out_sample", unetOut));
        } catch (RuntimeException e) {
            owned.forEach(HostTensor::close);
            throw e;
        }
    }

    private HostTensor own(HostTensor t) {
        owned.add(t);
        return t;
    }

    /** True when this workspace serves a generation of that shape. */
    public boolean fits(int images, boolean guidance, int latentHeight, int latentWidth, int sequenceLength) {
        return this.images == images && this.guidance == guidance && this.latentHeight == latentHeight
                && this.latentWidth == latentWidth && this.sequenceLength == sequenceLength;
    }

    /** Rows of the UNet batch: 2·images under guidance, else images. */
    public int rows() {
        return guidance ? 2 * images : images;
    }

    public int images() {
        return images;
    }

    public boolean guidance() {
        return guidance;
    }

    /** Writes one prompt's embeddings into the conditioning rows {@code [from, to)}. */
    public void setConditioning(int from, int to, float[] hidden, float[] pooled, float[] ids) {
        int hiddenRow = hidden.length;
        var h = encoderHiddenStates.floatBuffer();
        var p = textEmbeds.floatBuffer();
        var t = timeIds.floatBuffer();
        for (int row = from; row < to; row++) {
            h.put(row * hiddenRow, hidden);
            p.put(row * pooled.length, pooled);
            t.put(row * ids.length, ids);
        }
    }

    /**
     * Writes an inpainting UNet's extra input channels (after the latents: the mask, then the masked
     * image's latents) into every row; they stay fixed for the whole loop.
     */
    public void setInpaintingChannels(io.sdxl4j.tensor.TensorOps ops, HostTensor mask, HostTensor maskedLatents) {
        for (HostTensor half : sampleHalves) {
            ops.scaleIntoChannels(half, (int) latents.dim(1), 1f, mask);
            ops.scaleIntoChannels(half, (int) (latents.dim(1) + mask.dim(1)), 1f, maskedLatents);
        }
    }

    /** Writes the guidance embedding into every row, for UNets that take one. */
    public void setGuidanceEmbedding(float[] embedding) {
        if (timestepCond == null) {
            return;
        }
        var b = timestepCond.floatBuffer();
        for (int row = 0; row < timestepCond.dim(0); row++) {
            b.put(row * embedding.length, embedding);
        }
    }

    @Override
    public void close() {
        unet.close();
        owned.forEach(HostTensor::close);
    }
}
