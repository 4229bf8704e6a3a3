// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.tensor.DataType;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks that each ONNX component has the inputs and outputs of an optimum SDXL export, so that a
 * wrong or damaged file fails when it loads, naming the file and what was expected and found.
 */
public final class ModelSignatures {

    private static final Pattern HIDDEN_STATE = Pattern.compile("hidden_states\\.(\\d+)");

    private ModelSignatures() {
    }

    /** A CLIP text encoder: {@code input_ids} in; hidden states out (and {@code text_embeds} for encoder 2). */
    public static void checkTextEncoder(EngineSession s, boolean withProjection) {
        requireInput(s, "input_ids", DataType.INT64, DataType.INT32);
        lastHiddenState(s);
        if (withProjection) {
            requireOutput(s, "text_embeds");
        }
    }

    /**
     * The number of the last {@code hidden_states.N} output (12 for CLIP ViT-L, 32 for OpenCLIP bigG,
     * 5 for the tiny test encoders): {@code hidden_states[-1]} in diffusers' indexing, so that
     * {@code hidden_states[-(clip_skip + 2)]}, the layer SDXL conditions on, is
     * {@code hidden_states.(N − 1 − clip_skip)}.
     *
     * @throws SdxlException naming the file when the export has no hidden-state outputs
     */
    public static int lastHiddenState(EngineSession s) {
        int max = -1;
        for (TensorSpec o : s.outputs()) {
            Matcher m = HIDDEN_STATE.matcher(o.name());
            if (m.matches()) {
                max = Math.max(max, Integer.parseInt(m.group(1)));
            }
        }
        if (max < 1) {
            throw new SdxlException(s.label() + ": outputs `hidden_states.N` missing (export with"
                    + " output_hidden_states); found " + names(s.outputs()));
        }
        return max;
    }

    /** The SDXL UNet: sample, timestep, encoder_hidden_states, text_embeds, time_ids in; out_sample out. */
    public static void checkUnet(EngineSession s, int expectedTimeIds) {
        TensorSpec sample = requireInput(s, "sample", DataType.FLOAT32, DataType.FLOAT16);
        TensorSpec timestep = requireInput(s, "timestep", DataType.FLOAT32, DataType.FLOAT16, DataType.INT64,
                DataType.INT32);
        requireInput(s, "encoder_hidden_states", DataType.FLOAT32, DataType.FLOAT16);
        requireInput(s, "text_embeds", DataType.FLOAT32, DataType.FLOAT16);
        TensorSpec timeIds = requireInput(s, "time_ids", DataType.FLOAT32, DataType.FLOAT16);
        requireOutput(s, "out_sample");
        if (sample.rank() != 4) {
            throw new SdxlException(s.label() + ": input `sample` is " + sample.describe() + ", expected rank 4");
        }
        if (timestep.rank() > 1) {
            throw new SdxlException(s.label() + ": input `timestep` is " + timestep.describe()
                    + ", expected a scalar or [batch]");
        }
        if (timeIds.rank() != 2 || (timeIds.dim(1) >= 0 && timeIds.dim(1) != expectedTimeIds)) {
            throw new SdxlException(s.label() + ": input `time_ids` is " + timeIds.describe() + ", expected [batch,"
                    + expectedTimeIds + "]" + (expectedTimeIds == 6 ? " (a refiner UNet has 5)" : ""));
        }
    }

    /** The VAE decoder: latent_sample in, sample out. */
    public static void checkVaeDecoder(EngineSession s) {
        requireInput(s, "latent_sample", DataType.FLOAT32, DataType.FLOAT16);
        requireOutput(s, "sample");
    }

    /** Checks that a dimension the pipeline relies on agrees with another component's. */
    public static void requireDim(EngineSession s, String input, int axis, long expected, String why) {
        TensorSpec spec = s.input(input).orElseThrow();
        long actual = spec.dim(axis);
        if (actual >= 0 && actual != expected) {
            throw new SdxlException(s.label() + ": input `" + input + "` is " + spec.describe() + ", expected size "
                    + expected + " on axis " + axis + " (" + why + ")");
        }
    }

    private static TensorSpec requireInput(EngineSession s, String name, DataType... types) {
        TensorSpec spec = s.input(name).orElseThrow(() -> new SdxlException(
                s.label() + ": input `" + name + "` missing; found " + names(s.inputs())));
        if (!List.of(types).contains(spec.dataType())) {
            throw new SdxlException(s.label() + ": input `" + name + "` is " + spec.describe() + ", expected one of "
                    + List.of(types));
        }
        return spec;
    }

    private static void requireOutput(EngineSession s, String name) {
        if (s.output(name).isEmpty()) {
            throw new SdxlException(s.label() + ": output `" + name + "` missing; found " + names(s.outputs()));
        }
    }

    private static List<String> names(List<TensorSpec> specs) {
        return specs.stream().map(TensorSpec::name).toList();
    }
}
