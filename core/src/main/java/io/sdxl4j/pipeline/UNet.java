// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.ModelInfo.Kind;
import io.sdxl4j.model.GraphRewrite;
import io.sdxl4j.model.Int8Weights;
import io.sdxl4j.model.ModelGraphs;
import io.sdxl4j.model.ModelSignatures;
import io.sdxl4j.model.UnetUpsamplers;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The SDXL UNet session and what the loop must know about its inputs: the {@code timestep}
 * input's type and shape as the export declares it (a float32 scalar in current optimum exports,
 * int64 {@code [batch]} in older ones, float16 in fp16 exports), the sample's channels, and the
 * number of time ids (6 for the base, 5 for the refiner).
 */
public final class UNet implements AutoCloseable {

    private final EngineSession session;
    private final TensorSpec timestep;
    private final int inChannels;
    private final int timeIds;
    private final int timestepCondDim;

    private final int latentMultiple;

    private UNet(EngineSession session, int timeIds, int latentMultiple) {
        this.session = session;
        this.timeIds = timeIds;
        this.latentMultiple = latentMultiple;
        this.timestep = session.input("timestep").orElseThrow();
        long channels = session.input("sample").orElseThrow().dim(1);
        this.inChannels = channels > 0 ? (int) channels : 4;
        this.timestepCondDim = session.input("timestep_cond").map(t -> (int) t.dim(t.rank() - 1)).orElse(0);
    }

    /**
     * Opens and checks the UNet of a model folder against the text conditioning it will get.
     *
     * @throws SdxlException naming {@code unet/model.onnx} when it does not fit
     */
    public static UNet open(ModelFolder folder, Engine engine, int hiddenSize, int pooledSize,
                            PipelineOptions options) {
        return open(folder, engine, hiddenSize, pooledSize, options, Map.of());
    }

    /**
     * Opens the UNet with replacement weights (merged adapters), which its session owns from the
     * call on; with {@code hiddenSize} 0 the conditioning widths are left to
     * {@link #checkConditioning} (the text encoders may still be opening).
     */
    public static UNet open(ModelFolder folder, Engine engine, int hiddenSize, int pooledSize,
                            PipelineOptions options, Map<String, HostTensor> initializers) {
        Path file = folder.onnx(Component.UNET);
        String label = Component.UNET.label();
        // diffusers runs any latent size; an export's upsamplers have fixed ×2 scales. Sized from their
        // skip connections they run any size too — except under CUDA graphs, which need every node on
        // the device (the rewrite's shape nodes are not): there sizes must be multiples of the factor.
        boolean cudaGraph = options.provider() instanceof ExecutionProvider.Cuda c && c.cudaGraph();
        ModelSource source;
        int latentMultiple = 1;
        try {
            List<GraphRewrite> rewrites = new ArrayList<>();
            if (!cudaGraph) {
                rewrites.add(UnetUpsamplers.REWRITE);
            }
            rewrites.addAll(ModelGraphs.rewrites(options, Component.UNET));
            if (options.precision().int8()) {
                rewrites.add(Int8Weights.rewrite(file, label, options.precision() == Precision.INT8_CONV));
            }
            // A weight conversion is stored in the optimized-model cache (when there is one), so that
            // the next open reads it instead of converting again.
            source = ModelGraphs.source(file, label, rewrites,
                    options.precision().int8() ? options.optimizedModelCache() : java.util.Optional.empty());
            if (!source.tag().contains(UnetUpsamplers.TAG) && Files.isRegularFile(file)) {
                latentMultiple = 1 << UnetUpsamplers.upsamplers(UnetUpsamplers.read(file, label));
            }
        } catch (RuntimeException e) {
            initializers.values().forEach(HostTensor::close); // they were the session's to own
            throw e;
        }
        if (options.precision() == Precision.FP16 && Files.isRegularFile(file)) {
            source = ModelGraphs.half(source, label, initializers); // owns the replacements from here
            initializers = Map.of();
        }
        EngineSession session = engine.open(source.withInitializers(initializers), label);
        try {
            int timeIds = folder.kind() == Kind.REFINER ? 5 : 6;
            ModelSignatures.checkUnet(session, timeIds);
            session.input("timestep_cond").ifPresent(t -> {
                if (t.rank() != 2 || t.dim(1) < 2) {
                    throw new SdxlException(session.label() + ": input `timestep_cond` is " + t.describe()
                            + ", expected [batch, time_cond_proj_dim]");
                }
            });
            UNet unet = new UNet(session, timeIds, latentMultiple);
            if (hiddenSize > 0) {
                unet.checkConditioning(hiddenSize, pooledSize);
            }
            return unet;
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /**
     * Checks the UNet against the text conditioning it will get (the widths of the text encoders'
     * hidden states concatenated, and of text_encoder_2's pooled embedding).
     *
     * @throws SdxlException naming {@code unet/model.onnx} when they differ
     */
    public void checkConditioning(int hiddenSize, int pooledSize) {
        ModelSignatures.requireDim(session, "encoder_hidden_states", 2, hiddenSize,
                "the text encoders' hidden states concatenated");
        ModelSignatures.requireDim(session, "text_embeds", 1, pooledSize, "text_encoder_2's text_embeds");
    }

    /**
     * What latent heights and widths must be a multiple of: 1 when the upsamplers follow their skip
     * connections (the rewrite applied, as diffusers runs any size), else the export's overall
     * upsampling factor.
     */
    public int latentMultiple() {
        return latentMultiple;
    }

    public EngineSession session() {
        return session;
    }

    /** Channels of the {@code sample} input: 4, or 9 for inpainting UNets. */
    public int inChannels() {
        return inChannels;
    }

    /** Number of time ids per row. */
    public int timeIds() {
        return timeIds;
    }

    /** True for UNets with a guidance embedding input ({@code timestep_cond}, LCM-distilled). */
    public boolean hasTimestepCond() {
        return timestepCondDim > 0;
    }

    /** Width of the {@code timestep_cond} input (its {@code time_cond_proj_dim}), 0 when absent. */
    public int timestepCondDim() {
        return timestepCondDim;
    }

    /** The {@code timestep} input's declared type. */
    DataType timestepType() {
        return timestep.dataType();
    }

    /** The {@code timestep} input's shape for a batch: a scalar, or one value per row. */
    long[] timestepShape(int batch) {
        if (timestep.rank() == 0) {
            return new long[0];
        }
        return new long[] {timestep.dim(0) > 0 ? timestep.dim(0) : batch};
    }

    /**
     * Writes a timestep into every element of the timestep tensor. Integer exports get the value
     * truncated toward zero, as optimum's ONNX pipelines cast it ({@code np.array([t], dtype=int64)}).
     */
    static void writeTimestep(HostTensor t, double value) {
        int n = t.size();
        switch (t.dataType()) {
            case FLOAT32 -> {
                var b = t.floatBuffer();
                for (int i = 0; i < n; i++) {
                    b.put(i, (float) value);
                }
            }
            case FLOAT16 -> {
                var b = t.halfBuffer();
                for (int i = 0; i < n; i++) {
                    b.put(i, Float.floatToFloat16((float) value));
                }
            }
            case INT64 -> {
                var b = t.longBuffer();
                for (int i = 0; i < n; i++) {
                    b.put(i, (long) value);
                }
            }
            case INT32 -> {
                var b = t.intBuffer();
                for (int i = 0; i < n; i++) {
                    b.put(i, (int) value);
                }
            }
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
