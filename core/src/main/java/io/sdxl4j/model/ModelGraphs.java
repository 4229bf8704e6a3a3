// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.onnx.Onnx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
}
