// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.image.Images;
import io.sdxl4j.image.SdxlWatermark;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.model.ModelGraphs;
import io.sdxl4j.model.ModelSignatures;
import io.sdxl4j.model.VaeConfig;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.util.Map;

/**
 * The VAE decoder, one image at a time (the VAE treats batch items independently, and one image at
 * SDXL size already needs gigabytes of activations on the CPU). Buffers are bound per latent size
 * and kept for the next image of that size. With a device-resident engine the decoder's input is a
 * device tensor filled from the loop's latents on the device: the latents never come to the host,
 * only the image does.
 */
public final class VaeDecoder implements AutoCloseable {

    private final EngineSession session;
    private final VaeConfig config;
    private TensorOps ops;
    private Tensor input;
    private HostTensor output;
    private Binding binding;

    private VaeDecoder(EngineSession session, VaeConfig config) {
        this.session = session;
        this.config = config;
    }

    /** Opens and checks {@code vae_decoder/model.onnx}. */
    public static VaeDecoder open(ModelFolder folder, Engine engine) {
        return open(folder, engine, PipelineOptions.defaults());
    }

    /** Opens and checks {@code vae_decoder/model.onnx}, its graph rewritten as {@code options} ask. */
    public static VaeDecoder open(ModelFolder folder, Engine engine, PipelineOptions options) {
        Component c = Component.VAE_DECODER;
        EngineSession session = engine.open(ModelGraphs.source(folder.onnx(c), c.label(), ModelGraphs.rewrites(options, c)),
                c.label());
        try {
            ModelSignatures.checkVaeDecoder(session);
            return new VaeDecoder(session, folder.vae());
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    public VaeConfig config() {
        return config;
    }

    /**
     * Decodes item {@code index} of {@code latents} ([n, 4, h, w], a tensor of {@code ops}) to HWC
     * pixels in [0, 1]: {@code vae.decode(latents / scaling_factor)} (with the VAE's latents mean
     * and std when its config has them), then {@code clamp(x / 2 + 0.5, 0, 1)}.
     */
    public float[] decode(Tensor latents, int index, TensorOps ops) {
        return decode(latents, index, ops, false);
    }

    /**
     * {@link #decode(Tensor, int, TensorOps)}, with SDXL's invisible watermark applied to the decoder's
     * output before it becomes pixels when {@code watermark} is set, where diffusers applies it.
     */
    public float[] decode(Tensor latents, int index, TensorOps ops, boolean watermark) {
        long[] shape = latents.shape();
        int channels = (int) shape[1];
        int h = (int) shape[2];
        int w = (int) shape[3];
        boolean perChannel = config.latentsMean() != null && config.latentsStd() != null;
        if (ops.hostResident() || perChannel) {
            bindFor(HostTensorOps.INSTANCE, channels, h, w);
            if (latents instanceof HostTensor host) {
                fromHost(host, index, channels, h * w);
            } else {
                try (HostTensor host = HostTensor.floats(shape)) {
                    ops.download(host, latents);
                    fromHost(host, index, channels, h * w);
                }
            }
        } else {
            // On the device one scale kernel fills the decoder's input from the loop's latents.
            bindFor(ops, channels, h, w);
            ops.scale(input, (float) (1.0 / config.scalingFactor()), ops.slice(latents, index, index + 1));
        }
        binding.run();
        int width = w * config.scaleFactor();
        int height = h * config.scaleFactor();
        if (watermark) {
            SdxlWatermark.apply(output.floatBuffer(), height, width);
        }
        return Images.decodedToPixels(output.floatBuffer(), 0, width, height);
    }

    /** The decoder's input from host latents, the scale (and shift) in double as before the cast. */
    private void fromHost(HostTensor latents, int index, int channels, int plane) {
        var src = latents.floatBuffer();
        var dst = ((HostTensor) input).floatBuffer();
        int base = index * channels * plane;
        for (int c = 0; c < channels; c++) {
            double scale = 1.0 / config.scalingFactor();
            double shift = 0;
            if (config.latentsMean() != null && config.latentsStd() != null) {
                scale = config.latentsStd()[c] / config.scalingFactor();
                shift = config.latentsMean()[c];
            }
            for (int i = 0; i < plane; i++) {
                dst.put(c * plane + i, (float) (src.get(base + c * plane + i) * scale + shift));
            }
        }
    }

    private void bindFor(TensorOps ops, int channels, int h, int w) {
        if (input != null && this.ops == ops) {
            long[] in = input.shape();
            if (in[1] == channels && in[2] == h && in[3] == w) {
                return;
            }
        }
        release();
        this.ops = ops;
        int f = config.scaleFactor();
        input = ops.allocate(1, channels, h, w);
        output = HostTensor.floats(1, 3, (long) h * f, (long) w * f);
        binding = session.bind(Map.of("latent_sample", input), Map.of("sample", output));
    }

    private void release() {
        if (binding != null) {
            binding.close();
            binding = null;
        }
        if (input != null) {
            input.close();
            output.close();
            input = null;
            output = null;
        }
    }

    @Override
    public void close() {
        release();
        session.close();
    }
}
