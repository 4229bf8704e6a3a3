// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.SdxlException;
import io.sdxl4j.onnx.Onnx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Makes an exported UNet run at latent sizes that are not a multiple of its overall upsampling
 * factor, as diffusers' {@code UNet2DConditionModel} does: there each upsampler interpolates to the
 * size of the skip connection it is concatenated with ({@code forward_upsample_size}), while the
 * export traced a fixed ×2 ({@code Resize} with constant scales), so a latent of odd size (an image
 * of 1080 pixels: 135 latents) fails at the first {@code Concat}. The rewrite gives each such
 * {@code Resize} the output size {@code [N, C] ‖ skip's [H, W]} instead of its scales. Nearest
 * interpolation to {@code 2n − 1} or {@code 2n} picks the same source pixels as ×2 followed by a
 * crop, so at sizes the export handled the results are bit for bit unchanged.
 *
 * <p>The pattern is diffusers' {@code Upsample2D} followed by the next block's resnet:
 * {@code Resize → Conv → Concat(axis = 1, [upsampled, skip])}. A {@code Resize} that does not fit it
 * is left alone.
 */
public final class UnetUpsamplers {

    /** The rewrite's name, for caches and logs. */
    public static final String TAG = "upsample-to-skip";

    /** The rewrite as a {@link GraphRewrite}. */
    public static final GraphRewrite REWRITE = new GraphRewrite() {
        @Override
        public String tag() {
            return TAG;
        }

        @Override
        public java.util.Optional<Onnx.ModelProto> apply(Onnx.ModelProto model) {
            return sizedFromSkips(model).map(Rewrite::model);
        }
    };

    private UnetUpsamplers() {
    }

    /** Reads an ONNX file's graph (its weights too, when they are embedded). */
    public static Onnx.ModelProto read(Path file, String label) {
        try (var in = Files.newInputStream(file)) {
            var coded = com.google.protobuf.CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return Onnx.ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new SdxlException(label + ": cannot load the ONNX model: its graph does not parse (" + e.getMessage()
                    + ")", e);
        }
    }

    /** The number of {@code Resize} nodes: the upsamplers of a UNet export. */
    public static int upsamplers(Onnx.ModelProto model) {
        int n = 0;
        for (Onnx.NodeProto node : model.getGraph().getNodeList()) {
            n += node.getOpType().equals("Resize") ? 1 : 0;
        }
        return n;
    }

    /**
     * The rewritten graph, or empty when no upsampler fits the pattern (nothing to change).
     *
     * @return the model with every fitting upsampler sized from its skip connection, and the count
     */
    public static Optional<Rewrite> sizedFromSkips(Onnx.ModelProto model) {
        Onnx.GraphProto graph = model.getGraph();
        Map<String, List<Onnx.NodeProto>> consumers = new HashMap<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            for (String in : n.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        Onnx.GraphProto.Builder out = graph.toBuilder().clearNode();
        boolean shapeSlices = opset(model) >= 15; // Shape's start/end attributes came with opset 15
        int rewritten = 0;
        for (Onnx.NodeProto n : graph.getNodeList()) {
            String skip = n.getOpType().equals("Resize") ? skipOf(n, consumers) : null;
            if (skip == null) {
                out.addNode(n);
                continue;
            }
            String base = n.getName().isEmpty() ? n.getOutput(0) : n.getName();
            String batchChannels = base + "/sdxl4j_batch_channels";
            String skipSize = base + "/sdxl4j_skip_size";
            String sizes = base + "/sdxl4j_sizes";
            shape(out, base + "/sdxl4j_Shape_in", n.getInput(0), batchChannels, 0, 2, shapeSlices);
            shape(out, base + "/sdxl4j_Shape_skip", skip, skipSize, 2, 4, shapeSlices);
            out.addNode(Onnx.NodeProto.newBuilder().setOpType("Concat").setName(base + "/sdxl4j_Concat_sizes")
                    .addInput(batchChannels).addInput(skipSize).addOutput(sizes).addAttribute(intAttribute("axis", 0)));
            out.addNode(n.toBuilder().clearInput().addInput(n.getInput(0)).addInput("").addInput("").addInput(sizes));
            rewritten++;
        }
        if (rewritten == 0) {
            return Optional.empty();
        }
        return Optional.of(new Rewrite(model.toBuilder().setGraph(out).build(), rewritten));
    }

    /**
     * The rewritten model and how many upsamplers changed.
     *
     * @param model     the model
     * @param upsamplers upsamplers now sized from their skip connections
     */
    public record Rewrite(Onnx.ModelProto model, int upsamplers) {
    }

    /** The skip tensor a nearest ×2 {@code Resize} with constant scales is concatenated with, or null. */
    private static String skipOf(Onnx.NodeProto resize, Map<String, List<Onnx.NodeProto>> consumers) {
        if (resize.getInputCount() < 3 || resize.getInputCount() > 3 && !resize.getInput(3).isEmpty()
                || resize.getInput(2).isEmpty() || !"nearest".equals(stringAttribute(resize, "mode"))) {
            return null;
        }
        Onnx.NodeProto conv = single(consumers.get(resize.getOutput(0)));
        if (conv == null || !conv.getOpType().equals("Conv")) {
            return null;
        }
        Onnx.NodeProto concat = single(consumers.get(conv.getOutput(0)));
        if (concat == null || !concat.getOpType().equals("Concat") || concat.getInputCount() != 2
                || intAttribute(concat, "axis") != 1 || !concat.getInput(0).equals(conv.getOutput(0))) {
            return null;
        }
        return concat.getInput(1);
    }

    private static Onnx.NodeProto single(List<Onnx.NodeProto> nodes) {
        return nodes != null && nodes.size() == 1 ? nodes.get(0) : null;
    }

    // dims [start, end) of input's shape: Shape with start/end from opset 15, else Shape then Slice.
    private static void shape(Onnx.GraphProto.Builder out, String name, String input, String output, long start,
                              long end, boolean shapeSlices) {
        if (shapeSlices) {
            out.addNode(Onnx.NodeProto.newBuilder().setOpType("Shape").setName(name).addInput(input).addOutput(output)
                    .addAttribute(intAttribute("start", start)).addAttribute(intAttribute("end", end)));
            return;
        }
        String full = name + "_full";
        out.addNode(Onnx.NodeProto.newBuilder().setOpType("Shape").setName(name).addInput(input).addOutput(full));
        out.addNode(constant(name + "_starts", start));
        out.addNode(constant(name + "_ends", end));
        out.addNode(Onnx.NodeProto.newBuilder().setOpType("Slice").setName(name + "_Slice").addInput(full)
                .addInput(name + "_starts").addInput(name + "_ends").addOutput(output));
    }

    private static Onnx.NodeProto constant(String output, long value) {
        Onnx.TensorProto t = Onnx.TensorProto.newBuilder().setDataType(Onnx.TensorProto.DataType.INT64_VALUE)
                .addDims(1).addInt64Data(value).build();
        return Onnx.NodeProto.newBuilder().setOpType("Constant").setName(output).addOutput(output)
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("value").setT(t)
                        .setType(Onnx.AttributeProto.AttributeType.TENSOR)).build();
    }

    private static Onnx.AttributeProto intAttribute(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setI(value)
                .setType(Onnx.AttributeProto.AttributeType.INT).build();
    }

    private static long opset(Onnx.ModelProto model) {
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                return o.getVersion();
            }
        }
        return 1;
    }

    private static String stringAttribute(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getS().toStringUtf8();
            }
        }
        return null;
    }

    private static long intAttribute(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return Long.MIN_VALUE;
    }
}
