// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.SdxlException;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.model.ModelGraphs;
import io.sdxl4j.model.VaeConfig;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.HostTensor;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * The VAE encoder: pixels in [−1, 1] to scaled latents. Current optimum exports output the
 * latent distribution's parameters ({@code latent_parameters}, mean ‖ log-variance), sampled here
 * as diffusers' {@code DiagonalGaussianDistribution.sample} does (log-variance clamped to
 * [−30, 20], one draw from the generation's noise); older exports output a sample already
 * ({@code latent_sample}), for which the draw is consumed so that later draws stay aligned.
 */
public final class VaeEncoder implements AutoCloseable {

    private final EngineSession session;
    private final VaeConfig config;
    private final String output;
    private HostTensor input;
    private HostTensor result;
    private HostTensor noise;
    private Binding binding;

    private VaeEncoder(EngineSession session, VaeConfig config, String output) {
        this.session = session;
        this.config = config;
        this.output = output;
    }

    /**
     * Opens and checks {@code vae_encoder/model.onnx}.
     *
     * @throws SdxlException naming the file when it is missing or does not fit
     */
    public static VaeEncoder open(ModelFolder folder, Engine engine) {
        return open(folder, engine, PipelineOptions.defaults());
    }

    /** {@link #open(ModelFolder, Engine)}, its graph rewritten as {@code options} ask. */
    public static VaeEncoder open(ModelFolder folder, Engine engine, PipelineOptions options) {
        Component c = Component.VAE_ENCODER;
        if (!folder.has(c)) {
            throw new SdxlException(folder.dir().resolve(c.label()) + ": file not found; img2img and inpainting"
                    + " need the VAE encoder of the export");
        }
        EngineSession session = engine.open(ModelGraphs.source(folder.onnx(c), c.label(), ModelGraphs.rewrites(options, c)),
                c.label());
        try {
            if (session.input("sample").isEmpty()) {
                throw new SdxlException(c.label() + ": input `sample` missing; found "
                        + session.inputs().stream().map(TensorSpec::name).toList());
            }
            String out = session.output("latent_parameters").isPresent() ? "latent_parameters"
                    : session.output("latent_sample").isPresent() ? "latent_sample" : null;
            if (out == null) {
                throw new SdxlException(c.label() + ": output `latent_parameters` (or `latent_sample`) missing; found "
                        + session.outputs().stream().map(TensorSpec::name).toList());
            }
            return new VaeEncoder(session, folder.vae(), out);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /**
     * Encodes {@code image} ([1, 3, H, W] in [−1, 1]) into {@code latents} ([1, C, H/f, W/f]):
     * a sample of the latent distribution, scaled by {@code scaling_factor} (normalised by the VAE's
     * latents mean and std when its config has them), as the SDXL img2img and inpainting pipelines
     * prepare their image latents.
     */
    public void encode(HostTensor image, HostTensor latents, NoiseSource noiseSource) {
        int channels = (int) latents.dim(1);
        int h = (int) latents.dim(2);
        int w = (int) latents.dim(3);
        bindFor(image, channels, h, w);
        input.copyFrom(image);
        binding.run();
        FloatBuffer out = result.floatBuffer();
        FloatBuffer dst = latents.floatBuffer();
        int plane = h * w;
        int count = channels * plane;
        if (output.equals("latent_parameters")) {
            noiseSource.randn(noise.floatBuffer(), count);
            FloatBuffer eps = noise.floatBuffer();
            for (int i = 0; i < count; i++) {
                float mean = out.get(i);
                float logvar = Math.min(Math.max(out.get(count + i), -30f), 20f);
                float std = (float) Math.exp(0.5f * logvar);
                dst.put(i, mean + std * eps.get(i));
            }
        } else {
            noiseSource.skipRandn(count);
            for (int i = 0; i < count; i++) {
                dst.put(i, out.get(i));
            }
        }
        for (int c = 0; c < channels; c++) {
            boolean normalised = config.latentsMean() != null && config.latentsStd() != null;
            float mean = normalised ? (float) config.latentsMean()[c] : 0f;
            float factor = (float) (normalised ? config.scalingFactor() / config.latentsStd()[c]
                    : config.scalingFactor());
            for (int i = c * plane; i < (c + 1) * plane; i++) {
                dst.put(i, normalised ? (dst.get(i) - mean) * factor : factor * dst.get(i));
            }
        }
    }

    private void bindFor(HostTensor image, int channels, int h, int w) {
        if (input != null && input.dim(2) == image.dim(2) && input.dim(3) == image.dim(3)) {
            return;
        }
        release();
        input = HostTensor.floats(image.shape());
        int outChannels = output.equals("latent_parameters") ? 2 * channels : channels;
        result = HostTensor.floats(1, outChannels, h, w);
        noise = HostTensor.floats(1, channels, h, w);
        binding = session.bind(Map.of("sample", input), Map.of(output, result));
    }

    private void release() {
        if (binding != null) {
            binding.close();
            binding = null;
            input.close();
            result.close();
            noise.close();
            input = null;
        }
    }

    @Override
    public void close() {
        release();
        session.close();
    }
}
