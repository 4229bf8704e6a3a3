// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.engine.Binding;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
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

    private final TensorOps ops;
    private final int images;
    private final boolean guidance;
    private final int latentHeight;
    private final int latentWidth;
    private final int sequenceLength;
    private final List<Tensor> owned = new ArrayList<>();

    /** The latents, [images, 4, h, w]. */
    public final Tensor latents;
    /** The UNet's sample input, [rows, inChannels, h, w]. */
    public final Tensor unetSample;
    /** The UNet's output, [rows, 4, h, w]. */
    public final Tensor unetOut;
    /** The guided noise prediction, [images, 4, h, w] (the UNet output itself without guidance). */
    public final Tensor guided;
    /** Text conditioning, [rows, 77, hidden]. */
    public final Tensor encoderHiddenStates;
    /** Pooled text conditioning, [rows, pooled]. */
    public final Tensor textEmbeds;
    /** SDXL's size conditioning, [rows, timeIds]. */
    public final Tensor timeIds;
    /** The timestep in the UNet's declared type and shape. */
    public final Tensor timestep;
    /** The guidance embedding of guidance-distilled UNets, [rows, time_cond_proj_dim]; null otherwise. */
    public final Tensor timestepCond;
    /** The UNet bound to these buffers. */
    public final Binding unet;

    // Host copies of what the host writes or reads, where the engine's tensors are not host memory
    // (the same objects where they are): filled on the host, then uploaded.
    private final HostTensor hostHidden;
    private final HostTensor hostPooled;
    private final HostTensor hostIds;
    private final HostTensor hostTimestep;
    private final HostTensor hostTimestepCond;
    private final HostTensor hostLatents;

    final Tensor[] sampleHalves;
    final Tensor[] outHalves;
    final Tensor[] guidedItems;

    /**
     * Allocates the loop's tensors through {@code ops} (in the engine's memory: host, or device for
     * a device-resident engine) and binds them to the UNet once.
     */
    public Workspace(UNet model, TensorOps ops, int images, boolean guidance, int latentChannels, int latentHeight,
                     int latentWidth, int sequenceLength, int hiddenSize, int pooledSize) {
        this.ops = ops;
        this.images = images;
        this.guidance = guidance;
        this.latentHeight = latentHeight;
        this.latentWidth = latentWidth;
        this.sequenceLength = sequenceLength;
        int rows = guidance ? 2 * images : images;
        try {
            latents = own(ops.allocate(images, latentChannels, latentHeight, latentWidth));
            unetSample = own(ops.allocate(rows, model.inChannels(), latentHeight, latentWidth));
            unetOut = own(ops.allocate(rows, latentChannels, latentHeight, latentWidth));
            guided = guidance ? own(ops.allocate(images, latentChannels, latentHeight, latentWidth)) : unetOut;
            encoderHiddenStates = own(ops.allocate(rows, sequenceLength, hiddenSize));
            textEmbeds = own(ops.allocate(rows, pooledSize));
            timeIds = own(ops.allocate(rows, model.timeIds()));
            timestep = own(ops.allocate(model.timestepType(), model.timestepShape(rows)));
            timestepCond = model.hasTimestepCond() ? own(ops.allocate(rows, model.timestepCondDim())) : null;
            hostHidden = hostSide(encoderHiddenStates);
            hostPooled = hostSide(textEmbeds);
            hostIds = hostSide(timeIds);
            hostTimestep = hostSide(timestep);
            hostTimestepCond = timestepCond == null ? null : hostSide(timestepCond);
            hostLatents = hostSide(latents);
            sampleHalves = guidance
                    ? new Tensor[] {ops.slice(unetSample, 0, images), ops.slice(unetSample, images, rows)}
                    : new Tensor[] {unetSample};
            outHalves = guidance
                    ? new Tensor[] {ops.slice(unetOut, 0, images), ops.slice(unetOut, images, rows)}
                    : new Tensor[] {unetOut};
            guidedItems = new Tensor[images];
            for (int i = 0; i < images; i++) {
                guidedItems[i] = ops.slice(guided, i, i + 1);
            }
            Map<String, Tensor> inputs = new LinkedHashMap<>();
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
            closeOwned();
            throw e;
        }
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** {@code t} itself when it is host memory, else a host tensor of its type and shape. */
    private HostTensor hostSide(Tensor t) {
        if (t instanceof HostTensor h) {
            return h;
        }
        HostTensor h = HostTensor.allocate(t.dataType(), t.shape());
        owned.add(h);
        return h;
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

    /** The engine operations the workspace's tensors belong to. */
    public TensorOps ops() {
        return ops;
    }

    /** Writes one prompt's embeddings into the conditioning rows {@code [from, to)}. */
    public void setConditioning(int from, int to, float[] hidden, float[] pooled, float[] ids) {
        int hiddenRow = hidden.length;
        var h = hostHidden.floatBuffer();
        var p = hostPooled.floatBuffer();
        var t = hostIds.floatBuffer();
        for (int row = from; row < to; row++) {
            h.put(row * hiddenRow, hidden);
            p.put(row * pooled.length, pooled);
            t.put(row * ids.length, ids);
        }
        ops.upload(encoderHiddenStates, hostHidden);
        ops.upload(textEmbeds, hostPooled);
        ops.upload(timeIds, hostIds);
    }

    /**
     * Writes an inpainting UNet's extra input channels (after the latents: the mask, then the masked
     * image's latents) into every row; they stay fixed for the whole loop.
     */
    public void setInpaintingChannels(Tensor mask, Tensor maskedLatents) {
        int latentChannels = (int) latents.shape()[1];
        int maskChannels = (int) mask.shape()[1];
        for (Tensor half : sampleHalves) {
            ops.scaleIntoChannels(half, latentChannels, 1f, mask);
            ops.scaleIntoChannels(half, latentChannels + maskChannels, 1f, maskedLatents);
        }
    }

    /** Writes the guidance embedding into every row, for UNets that take one. */
    public void setGuidanceEmbedding(float[] embedding) {
        if (timestepCond == null) {
            return;
        }
        var b = hostTimestepCond.floatBuffer();
        for (int row = 0; row < hostTimestepCond.dim(0); row++) {
            b.put(row * embedding.length, embedding);
        }
        ops.upload(timestepCond, hostTimestepCond);
    }

    /** Writes the timestep of the next UNet call (every element, in the input's declared type). */
    void setTimestep(double value) {
        UNet.writeTimestep(hostTimestep, value);
        ops.upload(timestep, hostTimestep);
    }

    /**
     * The host tensor {@link #latentsOnHost()} fills, as it is now (the latents themselves on a host
     * engine; on a device engine, current only after {@link #latentsOnHost()}).
     */
    public HostTensor hostLatents() {
        return hostLatents;
    }

    /**
     * The latents in host memory, current: the latents themselves on a host engine, else a host
     * copy downloaded now.
     */
    public HostTensor latentsOnHost() {
        ops.download(hostLatents, latents);
        return hostLatents;
    }

    @Override
    public void close() {
        unet.close();
        closeOwned();
    }

    private void closeOwned() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            owned.get(i).close();
        }
        owned.clear();
    }
}
