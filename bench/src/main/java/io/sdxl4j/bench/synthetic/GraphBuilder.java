// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import io.sdxl4j.onnx.Onnx;

/**
 * Builds an ONNX graph (opset 17) in the op patterns torch exports SDXL with (GroupNorm as
 * InstanceNormalization between reshapes, erf GELU, explicit attention MatMuls), so that ONNX Runtime
 * sees what it sees in an optimum export. Weights are deterministic pseudo-random values, streamed
 * to a {@link WeightSink} (one external-data file, or nowhere when only counting); every Conv and
 * MatMul adds its FLOPs to a {@link FlopModel}, in terms of the latent size the graph runs at.
 *
 * <p>Names follow the TorchScript exporter (what optimum runs): a node is named by the module
 * scope it was traced in, {@code /down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul}
 * (a repeated op in one scope gets {@code _1}, {@code _2}, …), which is what adapter code maps LoRA
 * keys through; a Linear's weight is the folded transpose {@code onnx::MatMul_N}, Conv weights,
 * biases and LayerNorm parameters carry their parameter names
 * ({@code down_blocks.0.resnets.0.conv1.weight}). Callers open the module scopes with
 * {@link #scope}.
 */
public final class GraphBuilder {

    static final int FLOAT = Onnx.TensorProto.DataType.FLOAT_VALUE;
    static final int FLOAT16 = Onnx.TensorProto.DataType.FLOAT16_VALUE;
    static final int INT64 = Onnx.TensorProto.DataType.INT64_VALUE;
    static final int INT32 = Onnx.TensorProto.DataType.INT32_VALUE;

    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder().setName("sdxl4j-synthetic");
    private final WeightSink weights;
    private final FlopModel flops;
    private final int dtype;
    private final Weights random;
    private long parameters;
    private int counter;
    /** The open module scopes, outermost first (each a path segment such as {@code resnets.0}). */
    private final Deque<String> scopes = new ArrayDeque<>();
    /** How many nodes of each scope-and-op prefix so far, for TorchScript's {@code _1}, {@code _2} suffixes. */
    private final Map<String, Integer> opCounts = new HashMap<>();
    private final Set<String> initializerNames = new HashSet<>();

    /**
     * @param dtype FLOAT or FLOAT16: the type of weights, inputs and activations
     * @param seed  the seed of the weights
     */
    GraphBuilder(WeightSink weights, FlopModel flops, int dtype, long seed) {
        this.weights = weights;
        this.flops = flops;
        this.dtype = dtype;
        this.random = new Weights(seed);
    }

    FlopModel flops() {
        return flops;
    }

    /** Parameters written so far. */
    long parameters() {
        return parameters;
    }

    int dtype() {
        return dtype;
    }

    // --- module scopes and names ---

    /** An open module scope: closing it leaves the segments {@link #scope} entered. */
    final class Scope implements AutoCloseable {
        private final int segments;

        private Scope(int segments) {
            this.segments = segments;
        }

        @Override
        public void close() {
            for (int i = 0; i < segments; i++) {
                scopes.removeLast();
            }
        }
    }

    /**
     * Enters module scopes, one path segment each ({@code "down_blocks.1", "attentions.0"}): nodes
     * and parameters made until the scope is closed are named under them.
     */
    Scope scope(String... segments) {
        for (String s : segments) {
            if (s.isEmpty() || s.contains("/")) {
                throw new IllegalArgumentException("scope segment '" + s + "'");
            }
            scopes.addLast(s);
        }
        return new Scope(segments.length);
    }

    /** The dotted module path of the open scopes ({@code down_blocks.1.attentions.0}), empty at the top. */
    String modulePath() {
        return String.join(".", scopes);
    }

    /** A node name as TorchScript writes it: {@code /scope/…/Op}, then {@code Op_1}, {@code Op_2} in the same scope. */
    private String nodeName(String op) {
        String prefix = scopes.isEmpty() ? "/" + op : "/" + String.join("/", scopes) + "/" + op;
        int n = opCounts.merge(prefix, 1, Integer::sum) - 1;
        return n == 0 ? prefix : prefix + "_" + n;
    }

    /** A parameter's name: the module path and {@code leaf} ({@code conv_in.weight}); generic at the top. */
    private String parameterName(String leaf) {
        return scopes.isEmpty() ? fresh(leaf) : modulePath() + "." + leaf;
    }

    private String unique(String initializer) {
        if (!initializerNames.add(initializer)) {
            throw new IllegalStateException("initializer " + initializer + " twice: a module scope is reused");
        }
        return initializer;
    }

    // --- graph interface ---

    /** A graph input; dims are Long (fixed) or String (symbolic). */
    String input(String name, int type, Object... dims) {
        graph.addInput(valueInfo(name, type, dims));
        return name;
    }

    void output(String value, String name, int type, Object... dims) {
        if (!value.equals(name)) {
            node("Identity", List.of(value), name);
        }
        graph.addOutput(valueInfo(name, type, dims));
    }

    private static Onnx.ValueInfoProto valueInfo(String name, int type, Object... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            Onnx.TensorShapeProto.Dimension.Builder dim = Onnx.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                dim.setDimValue(((Number) d).longValue());
            }
            shape.addDim(dim);
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
    }

    /** Adds a node and returns its (single) output's name. */
    String node(String op, List<String> inputs, String output, Onnx.AttributeProto... attributes) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(nodeName(op))
                .addAllInput(inputs).addOutput(output);
        for (Onnx.AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return output;
    }

    String node(String op, List<String> inputs, Onnx.AttributeProto... attributes) {
        return node(op, inputs, fresh(op.toLowerCase(java.util.Locale.ROOT)), attributes);
    }

    String fresh(String hint) {
        return hint + "_" + counter++;
    }

    static Onnx.AttributeProto intAttr(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v)
                .build();
    }

    static Onnx.AttributeProto intsAttr(String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name)
                .setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static Onnx.AttributeProto floatAttr(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT)
                .setF(v).build();
    }

    static Onnx.AttributeProto stringAttr(String name, String v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(v)).build();
    }

    // --- constants and weights ---

    /** A small float32 constant whatever the graph's type (Resize scales). */
    String floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return inline(FLOAT, b, values.length);
    }

    /** A one-dimensional initializer stored in the graph itself. */
    private String inline(int type, ByteBuffer bytes, int count) {
        String name = fresh("const");
        graph.addInitializer(Onnx.TensorProto.newBuilder().setName(name).setDataType(type).addDims(count)
                .setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    /** A small int64 constant, inline. */
    String longs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return inline(INT64, b, values.length);
    }

    /** A scalar of the graph's float type, inline. */
    String scalar(float value) {
        return constant(new float[] {value});
    }

    /** A small float constant of the graph's type, inline, with the given dims (none for a scalar). */
    String constant(float[] values, long... dims) {
        String name = fresh("const");
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(dtype);
        for (long d : dims) {
            t.addDims(d);
        }
        t.setRawData(ByteString.copyFrom(encode(values)));
        graph.addInitializer(t);
        return name;
    }

    private byte[] encode(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * (dtype == FLOAT ? 4 : 2)).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            if (dtype == FLOAT) {
                b.putFloat(v);
            } else {
                b.putShort(Float.floatToFloat16(v));
            }
        }
        return b.array();
    }

    /**
     * A weight tensor named {@code name} with values uniform in ±sqrt(3/fanIn) (variance 1/fanIn, so
     * activations stay bounded through the network), or filled with {@code fill} when not NaN (norm
     * scales, biases).
     */
    String weight(String name, int fanIn, float fill, long... dims) {
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        parameters += count;
        unique(name);
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(dtype);
        for (long d : dims) {
            t.addDims(d);
        }
        float bound = (float) Math.sqrt(3.0 / Math.max(fanIn, 1));
        weights.write(t, count, dtype, i -> Float.isNaN(fill) ? random.uniform(bound) : fill);
        graph.addInitializer(t);
        return name;
    }

    String randomWeight(String name, int fanIn, long... dims) {
        return weight(name, fanIn, Float.NaN, dims);
    }

    /** The parameter {@code leaf} of the current module ({@code weight}, {@code bias}), random. */
    String parameter(String leaf, int fanIn, long... dims) {
        return randomWeight(parameterName(leaf), fanIn, dims);
    }

    // --- layers ---

    /**
     * Conv2d with bias; {@code level} is the output's resolution level (latent size / 2^level), for
     * the FLOP count. {@code pads} as ONNX orders them (begin h, begin w, end h, end w).
     */
    String conv(String x, int cin, int cout, int k, int stride, long[] pads, int level) {
        String w = randomWeight(parameterName("weight"), cin * k * k, cout, cin, k, k);
        String b = weight(parameterName("bias"), 1, 0f, cout);
        flops.perPixel(FlopModel.Kind.CONV, 2.0 * cin * cout * k * k, level);
        return node("Conv", List.of(x, w, b), intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride),
                intsAttr("pads", pads));
    }

    /** {@link #conv} as the module {@code module} of the current scope. */
    String conv(String module, String x, int cin, int cout, int k, int stride, long[] pads, int level) {
        try (Scope s = scope(module)) {
            return conv(x, cin, cout, k, stride, pads, level);
        }
    }

    /** A 3×3 convolution, padding 1, as the module {@code module} of the current scope. */
    String conv3x3(String module, String x, int cin, int cout, int level) {
        try (Scope s = scope(module)) {
            return conv3x3(x, cin, cout, level);
        }
    }

    /** {@link #linear} as the module {@code module} of the current scope. */
    String linear(String module, String x, int in, int out, boolean bias, double tokensPerPixel, double fixedTokens) {
        try (Scope s = scope(module)) {
            return linear(x, in, out, bias, tokensPerPixel, fixedTokens);
        }
    }

    String groupNorm(String module, String x, int channels, int groups, float eps) {
        try (Scope s = scope(module)) {
            return groupNorm(x, channels, groups, eps);
        }
    }

    String layerNorm(String module, String x, int channels, float eps) {
        try (Scope s = scope(module)) {
            return layerNorm(x, channels, eps);
        }
    }

    /** SiLU as the activation module {@code module} (diffusers' {@code act}, {@code nonlinearity}). */
    String silu(String module, String x) {
        try (Scope s = scope(module)) {
            return silu(x);
        }
    }

    String conv3x3(String x, int cin, int cout, int level) {
        return conv(x, cin, cout, 3, 1, new long[] {1, 1, 1, 1}, level);
    }

    String conv1x1(String x, int cin, int cout, int level) {
        return conv(x, cin, cout, 1, 1, new long[] {0, 0, 0, 0}, level);
    }

    /**
     * A linear layer on the last axis of {@code tokens}-many rows, where {@code tokensPerPixel} is
     * the number of rows per latent pixel (1/4^level for image tokens), or 0 with
     * {@code fixedTokens} rows per batch item (text tokens, embeddings). Its weight is the
     * transpose {@code [in, out]} that the exporter folds and names {@code onnx::MatMul_N}.
     */
    String linear(String x, int in, int out, boolean bias, double tokensPerPixel, double fixedTokens) {
        String w = randomWeight("onnx::MatMul_" + counter++, in, in, out);
        if (tokensPerPixel > 0) {
            flops.perPixel(FlopModel.Kind.LINEAR, 2.0 * in * out * tokensPerPixel, 0);
        } else {
            flops.perItem(FlopModel.Kind.LINEAR, 2.0 * in * out * fixedTokens);
        }
        String y = node("MatMul", List.of(x, w));
        return bias ? node("Add", List.of(y, weight(parameterName("bias"), 1, 0f, out))) : y;
    }

    /** GroupNorm as torch exports it: reshape to [B, G, -1], InstanceNormalization, reshape back, scale and shift. */
    String groupNorm(String x, int channels, int groups, float eps) {
        String grouped = node("Reshape", List.of(x, longs(0, groups, -1)));
        String normed = node("InstanceNormalization", List.of(grouped, constant(ones(groups), groups),
                constant(new float[groups], groups)), floatAttr("epsilon", eps));
        String restored = node("Reshape", List.of(normed, node("Shape", List.of(x))));
        // The exporter folds the [C] parameters' unsqueeze to [C, 1, 1] into unnamed constants.
        String gamma = weight("onnx::Mul_" + counter++, 1, 1f, channels, 1, 1);
        String beta = weight("onnx::Add_" + counter++, 1, 0f, channels, 1, 1);
        return node("Add", List.of(node("Mul", List.of(restored, gamma)), beta));
    }

    String layerNorm(String x, int channels, float eps) {
        return node("LayerNormalization", List.of(x, weight(parameterName("weight"), 1, 1f, channels),
                weight(parameterName("bias"), 1, 0f, channels)), intAttr("axis", -1), floatAttr("epsilon", eps));
    }

    String silu(String x) {
        return node("Mul", List.of(x, node("Sigmoid", List.of(x))));
    }

    /** GELU with erf, as torch exports {@code F.gelu}: 0.5·x·(1 + erf(x/√2)). */
    String gelu(String x) {
        String erf = node("Erf", List.of(node("Div", List.of(x, scalar((float) Math.sqrt(2))))));
        return node("Mul", List.of(node("Mul", List.of(x, node("Add", List.of(erf, scalar(1f))))), scalar(0.5f)));
    }

    /** CLIP ViT-L's quick GELU: x·σ(1.702·x). */
    String quickGelu(String x) {
        return node("Mul", List.of(x, node("Sigmoid", List.of(node("Mul", List.of(x, scalar(1.702f)))))));
    }

    /** diffusers' Attention projections: {@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0}. */
    static final List<String> DIFFUSERS_ATTENTION = List.of("to_q", "to_k", "to_v", "to_out.0");
    /** transformers' CLIPAttention projections. */
    static final List<String> CLIP_ATTENTION = List.of("q_proj", "k_proj", "v_proj", "out_proj");

    /**
     * Multi-head attention of {@code q} rows over {@code kv} rows, heads of 64 (or the given width),
     * as explicit MatMul–Softmax–MatMul, in the current scope (the attention module), its four
     * projections named {@code projections} (q, k, v, out). {@code qPerPixel}/{@code qFixed} and
     * {@code kvPerPixel}/{@code kvFixed} give the row counts for the FLOP count; {@code mask}, if not
     * null, is added to the scores (CLIP's causal mask). diffusers' UNet attention has no q/k/v
     * bias; CLIP's and the VAE's have.
     */
    String attention(String q, String kv, int channels, int kvChannels, int heads, boolean qkvBias, double qPerPixel,
                     double qFixed, double kvPerPixel, double kvFixed, String mask, List<String> projections) {
        int headDim = channels / heads;
        String qp = linear(projections.get(0), q, channels, channels, qkvBias, qPerPixel, qFixed);
        String kp = linear(projections.get(1), kv, kvChannels, channels, qkvBias, kvPerPixel, kvFixed);
        String vp = linear(projections.get(2), kv, kvChannels, channels, qkvBias, kvPerPixel, kvFixed);
        String qh = node("Transpose", List.of(node("Reshape", List.of(qp, longs(0, -1, heads, headDim)))),
                intsAttr("perm", 0, 2, 1, 3));
        String kh = node("Transpose", List.of(node("Reshape", List.of(kp, longs(0, -1, heads, headDim)))),
                intsAttr("perm", 0, 2, 3, 1));
        String vh = node("Transpose", List.of(node("Reshape", List.of(vp, longs(0, -1, heads, headDim)))),
                intsAttr("perm", 0, 2, 1, 3));
        String scores = node("Mul", List.of(node("MatMul", List.of(qh, kh)), scalar((float) (1 / Math.sqrt(headDim)))));
        if (mask != null) {
            scores = node("Add", List.of(scores, mask));
        }
        String probs = node("Softmax", List.of(scores), intAttr("axis", -1));
        String out = node("MatMul", List.of(probs, vh));
        // QKᵀ and AV: 2·Nq·Nk·C each.
        if (qPerPixel > 0 && kvPerPixel > 0) {
            flops.perPixelSquared(FlopModel.Kind.ATTENTION, 4.0 * channels * qPerPixel * kvPerPixel);
        } else if (qPerPixel > 0) {
            flops.perPixel(FlopModel.Kind.ATTENTION, 4.0 * channels * qPerPixel * kvFixed, 0);
        } else {
            flops.perItem(FlopModel.Kind.ATTENTION, 4.0 * channels * qFixed * kvFixed);
        }
        String merged = node("Reshape", List.of(node("Transpose", List.of(out), intsAttr("perm", 0, 2, 1, 3)),
                longs(0, -1, channels)));
        return linear(projections.get(3), merged, channels, channels, true, qPerPixel, qFixed);
    }

    /**
     * diffusers' ResnetBlock2D, as the module {@code module} of the current scope
     * ({@code resnets.0}): norm1–act–conv1, the time embedding through act and
     * {@code time_emb_proj} added per channel (when {@code temb} is not null), norm2–act–conv2, and
     * a 1×1 {@code conv_shortcut} when the width changes.
     */
    String resnet(String module, String x, int cin, int cout, String temb, int tembDim, float eps, int level) {
        try (Scope s = scope(module)) {
            String h = conv3x3("conv1", silu("act", groupNorm("norm1", x, cin, 32, eps)), cin, cout, level);
            if (temb != null) {
                String t = linear("time_emb_proj", silu("act", temb), tembDim, cout, true, 0, 1);
                h = node("Add", List.of(h, node("Unsqueeze", List.of(t, longs(2, 3)))));
            }
            h = conv3x3("conv2", silu("act", groupNorm("norm2", h, cout, 32, eps)), cout, cout, level);
            String shortcut = x;
            if (cin != cout) {
                try (Scope c = scope("conv_shortcut")) {
                    shortcut = conv1x1(x, cin, cout, level);
                }
            }
            return node("Add", List.of(shortcut, h));
        }
    }

    /**
     * diffusers' Upsample2D as {@code upsamplers.0} of the current scope: nearest-neighbour ×2 (as
     * torch exports it), then the 3×3 {@code conv} at the new level.
     */
    String upsample(String x, int channels, int newLevel) {
        try (Scope s = scope("upsamplers.0")) {
            String up = node("Resize", List.of(x, "", floats(1, 1, 2, 2)), stringAttr("mode", "nearest"),
                    stringAttr("coordinate_transformation_mode", "asymmetric"), stringAttr("nearest_mode", "floor"));
            return conv3x3("conv", up, channels, channels, newLevel);
        }
    }

    /** [B, C, H, W] to [B, H·W, C]. */
    String toTokens(String x, int channels) {
        return node("Transpose", List.of(node("Reshape", List.of(x, longs(0, channels, -1)))), intsAttr("perm", 0, 2, 1));
    }

    /** [B, H·W, C] back to the shape of {@code like}. */
    String toImage(String tokens, String like) {
        return node("Reshape", List.of(node("Transpose", List.of(tokens), intsAttr("perm", 0, 2, 1)),
                node("Shape", List.of(like))));
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    /** Writes the model (graph with external-data references) to {@code file}. */
    void write(Path file, String producer) throws IOException {
        Onnx.ModelProto model = Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName(producer)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
        Files.createDirectories(file.getParent());
        try (var out = Files.newOutputStream(file)) {
            model.writeTo(out);
        }
    }

    /** The graph's nodes so far, for tests. */
    List<Onnx.NodeProto> nodes() {
        return graph.getNodeList();
    }

    /** The names of the graph's outputs, for tests. */
    List<String> outputNames() {
        List<String> out = new ArrayList<>();
        graph.getOutputList().forEach(o -> out.add(o.getName()));
        return out;
    }
}
