// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.onnx.Onnx;
import java.nio.file.Files;
import java.nio.file.Path;
import io.sdxl4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;

/** What a component's session opens: its file as it is, or its graph after the rewrites that apply. */
public final class ModelGraphs {

    private ModelGraphs() {
    }

    /**
     * The rewrites {@code options} ask for on a component's graph, beyond those the component needs
     * anyway: the attention fusion on the UNet and the VAE.
     */
    public static List<GraphRewrite> rewrites(PipelineOptions options, Component component) {
        List<GraphRewrite> rewrites = new ArrayList<>();
        boolean attention = component == Component.UNET || component == Component.VAE_DECODER
                || component == Component.VAE_ENCODER;
        if (options.fusedAttention() && attention) {
            rewrites.add(AttentionFusion.REWRITE);
        }
        return rewrites;
    }

    /**
     * The source for {@code file} after {@code rewrites}, in order; the file as it is when none
     * changes anything (or none is asked for: the graph is then not even read).
     */
    public static ModelSource source(Path file, String label, List<GraphRewrite> rewrites) {
        if (rewrites.isEmpty() || !Files.isRegularFile(file)) {
            return ModelSource.of(file);
        }
        Onnx.ModelProto model = UnetUpsamplers.read(file, label);
        List<String> applied = new ArrayList<>();
        for (GraphRewrite r : rewrites) {
            Optional<Onnx.ModelProto> next = r.apply(model);
            if (next.isPresent()) {
                model = next.get();
                applied.add(r.tag());
            }
        }
        return applied.isEmpty() ? ModelSource.of(file)
                : ModelSource.rewritten(file, model.toByteArray(), String.join("+", applied));
    }

    /**
     * {@code source} converted to float16 ({@link Float16Conversion}), with {@code replacements}
     * (merged adapter weights, owned by the result from the call on) in the types the converted graph
     * holds them in. A model whose weights are external gets its float16 weights as replacement
     * initializers, which open it past the optimized-model cache ({@link ModelSource}).
     */
    public static ModelSource half(ModelSource source, String label, Map<String, HostTensor> replacements) {
        Onnx.ModelProto model;
        try {
            model = source.graph().isPresent() ? parse(source.graph().get()) : UnetUpsamplers.read(source.file(), label);
        } catch (RuntimeException e) {
            replacements.values().forEach(HostTensor::close);
            throw e;
        }
        Float16Conversion.Converted c;
        try {
            c = Float16Conversion.convert(model, source.externalDataFolder(), label);
        } catch (RuntimeException e) {
            replacements.values().forEach(HostTensor::close);
            throw e;
        }
        Map<String, HostTensor> weights = new HashMap<>(c.weights());
        for (String replaced : replacements.keySet()) {
            HostTensor converted = weights.remove(replaced);
            if (converted != null) {
                converted.close();
            }
        }
        weights.putAll(Float16Conversion.halfOf(replacements, c));
        String tag = source.tag().isEmpty() ? Float16Conversion.TAG : source.tag() + "+" + Float16Conversion.TAG;
        return ModelSource.rewritten(source.file(), c.model().toByteArray(), tag).withInitializers(weights);
    }

    private static Onnx.ModelProto parse(byte[] bytes) {
        try {
            var coded = com.google.protobuf.CodedInputStream.newInstance(bytes);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return Onnx.ModelProto.parseFrom(coded);
        } catch (java.io.IOException e) {
            throw new io.sdxl4j.SdxlException("cannot parse a rewritten graph: " + e.getMessage(), e);
        }
    }
}
