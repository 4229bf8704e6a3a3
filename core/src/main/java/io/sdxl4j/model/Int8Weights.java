// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import com.google.protobuf.ByteString;
import io.sdxl4j.adapter.OnnxModel;
import io.sdxl4j.onnx.Onnx;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Dynamic int8 quantization of an export's linear layers, done once in Java: every {@code MatMul}
 * whose second input is a 2-D float32 weight {@code [K, N]} becomes ONNX Runtime's
 * {@code com.microsoft.DynamicQuantizeMatMul} over that weight quantized to int8, symmetric, one
 * scale per output column ({@code scale[n] = max_k |W[k, n]| / 127}). At run time the runtime
 * quantizes the activations to uint8 per call (asymmetric, per tensor) and multiplies u8·s8 with its
 * integer GEMM (MLAS: AMX tiles or AVX-512 VNNI where the CPU has them), then rescales to float32 —
 * what ONNX Runtime's Python {@code quantize_dynamic} produces for MatMul, per-channel, with int8
 * weights. With {@code convolutions}, each 2-D ungrouped {@code Conv} becomes
 * {@code DynamicQuantizeLinear → ConvInteger} with its weight uint8 per output channel (2.7× the
 * float convolution's rate on an AMX CPU, bench/RESULTS.md "Precision"). Attention's
 * activation·activation products, normalization and everything else stay float32: the product of
 * two activations has no constant weight to quantize.
 *
 * <p>Without VNNI or AMX, x86's u8·s8 path ({@code vpmaddubsw}) can saturate a 16-bit pair sum with
 * full-range int8 weights (ONNX Runtime's {@code reduce_range} exists for that); this conversion is
 * meant for the CPUs that have the integer matrix instructions, which are what make it faster.
 */
public final class Int8Weights {

    /** The rewrite's name, for caches and logs (its version changes when the conversion does). */
    public static final String TAG = "int8-dynamic-matmul-v1";

    /** ONNX Runtime's contrib-op domain. */
    static final String MS_DOMAIN = "com.microsoft";

    /** Weights below this many elements stay float32: quantizing the activation costs more than it saves. */
    static final long MIN_ELEMENTS = 4096;

    private Int8Weights() {
    }

    /**
     * The rewrite as a {@link GraphRewrite} of the graph read from {@code file} (whose weights,
     * embedded or external, it reads from there).
     *
     * @param label the component and file for messages, e.g. {@code unet/model.onnx}
     */
    public static GraphRewrite rewrite(Path file, String label, boolean convolutions) {
        return new GraphRewrite() {
            @Override
            public String tag() {
                return convolutions ? TAG + "+conv" : TAG;
            }

            @Override
            public Optional<Onnx.ModelProto> apply(Onnx.ModelProto model) {
                return quantize(model, OnnxModel.read(file, label), convolutions);
            }
        };
    }

    /** Weights quantized: the int8 values in the stored {@code [K, N]} order and one scale per column. */
    record Quantized(byte[] values, float[] scales) {
    }

    /**
     * Symmetric per-column int8 of a row-major {@code [k, n]} weight; a column of zeros gets scale 1
     * (so dequantizing gives its zeros back, never a division by zero).
     */
    static Quantized quantizeColumns(float[] w, int k, int n) {
        float[] scales = new float[n];
        for (int r = 0; r < k; r++) {
            int row = r * n;
            for (int c = 0; c < n; c++) {
                scales[c] = Math.max(scales[c], Math.abs(w[row + c]));
            }
        }
        for (int c = 0; c < n; c++) {
            scales[c] = scales[c] == 0f ? 1f : scales[c] / 127f;
        }
        byte[] q = new byte[k * n];
        for (int r = 0; r < k; r++) {
            int row = r * n;
            for (int c = 0; c < n; c++) {
                int v = Math.round(w[row + c] / scales[c]);
                q[row + c] = (byte) Math.max(-127, Math.min(127, v));
            }
        }
        return new Quantized(q, scales);
    }

    /**
     * The model with every fitting MatMul (and with {@code convolutions}, every fitting Conv) on int8
     * weights, or empty when none fits; weights are read through {@code weights} (the original
     * export's file).
     */
    static Optional<Onnx.ModelProto> quantize(Onnx.ModelProto model, OnnxModel weights, boolean convolutions) {
        Onnx.GraphProto graph = model.getGraph();
        Map<String, Onnx.TensorProto> initializers = new LinkedHashMap<>();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Map<String, Integer> uses = new HashMap<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            for (String in : n.getInputList()) {
                uses.merge(in, 1, Integer::sum);
            }
        }
        for (Onnx.ValueInfoProto v : graph.getOutputList()) {
            uses.merge(v.getName(), 1, Integer::sum);
        }
        Onnx.GraphProto.Builder out = graph.toBuilder().clearNode();
        Map<String, Onnx.TensorProto[]> made = new LinkedHashMap<>(); // in graph order: the same bytes every time
        Map<String, Integer> converted = new HashMap<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            Onnx.TensorProto cw = convolutions ? fitsConv(n, initializers) : null;
            if (cw != null) {
                String name = cw.getName();
                Onnx.TensorProto[] q = made.computeIfAbsent(name, x -> quantizedConv(cw, weights));
                converted.merge(name, 1, Integer::sum);
                String bias = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? n.getInput(2) : null;
                if (bias != null) {
                    // The bias is added after the rescale, broadcast over the image: [C] as [C, 1, 1].
                    float[] b = weights.floats(bias);
                    made.computeIfAbsent(bias, x -> new Onnx.TensorProto[] {floats(bias + "_c11", b, b.length, 1, 1)});
                    converted.merge(bias, 1, Integer::sum);
                }
                addConv(out, n, q, bias == null ? null : bias + "_c11");
                continue;
            }
            Onnx.TensorProto w = fits(n, initializers);
            if (w == null) {
                out.addNode(n);
                continue;
            }
            String name = w.getName();
            Onnx.TensorProto[] q = made.computeIfAbsent(name, x -> quantized(w, weights));
            converted.merge(name, 1, Integer::sum);
            out.addNode(Onnx.NodeProto.newBuilder()
                    .setName(n.getName())
                    .setOpType("DynamicQuantizeMatMul")
                    .setDomain(MS_DOMAIN)
                    .addInput(n.getInput(0))
                    .addInput(q[0].getName())
                    .addInput(q[1].getName())
                    .addOutput(n.getOutput(0)));
        }
        if (made.isEmpty()) {
            return Optional.empty();
        }
        // A float weight that only the converted nodes read is dropped (the runtime never loads it).
        Set<String> dropped = new HashSet<>();
        converted.forEach((name, count) -> {
            if (count.equals(uses.get(name))) {
                dropped.add(name);
            }
        });
        out.clearInitializer();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            if (!dropped.contains(t.getName())) {
                out.addInitializer(t);
            }
        }
        for (Onnx.TensorProto[] q : made.values()) {
            for (Onnx.TensorProto t : q) {
                out.addInitializer(t);
            }
        }
        Onnx.ModelProto.Builder result = model.toBuilder().setGraph(out);
        boolean hasDomain = model.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals(MS_DOMAIN));
        if (!hasDomain) {
            result.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
        }
        return Optional.of(result.build());
    }

    /**
     * A float32 {@code Conv} as {@code DynamicQuantizeLinear} (the input to uint8, per tensor) →
     * {@code ConvInteger} (u8·u8 with the weight's zero point 128) → {@code Cast} → times the input's
     * scale and the per-output-channel weight scales {@code [C, 1, 1]} → plus the bias. The weight is
     * symmetric per output channel around 128; the zero point is one for the whole tensor, as
     * {@code ConvInteger} wants, and the per-channel scales are applied after the integer sums.
     */
    private static void addConv(Onnx.GraphProto.Builder out, Onnx.NodeProto n, Onnx.TensorProto[] q, String bias) {
        String base = n.getOutput(0) + "/int8";
        String x = n.getInput(0);
        out.addNode(Onnx.NodeProto.newBuilder().setName(n.getName() + "/quantize").setOpType("DynamicQuantizeLinear")
                .addInput(x).addOutput(base + "/x").addOutput(base + "/x_scale").addOutput(base + "/x_zero"));
        Onnx.NodeProto.Builder conv = Onnx.NodeProto.newBuilder().setName(n.getName()).setOpType("ConvInteger")
                .addInput(base + "/x").addInput(q[0].getName()).addInput(base + "/x_zero").addInput(q[2].getName())
                .addOutput(base + "/acc");
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            conv.addAttribute(a);
        }
        out.addNode(conv);
        out.addNode(Onnx.NodeProto.newBuilder().setName(n.getName() + "/cast").setOpType("Cast")
                .addInput(base + "/acc").addOutput(base + "/accf")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("to").setType(Onnx.AttributeProto.AttributeType.INT)
                        .setI(Onnx.TensorProto.DataType.FLOAT_VALUE)));
        out.addNode(Onnx.NodeProto.newBuilder().setName(n.getName() + "/scales").setOpType("Mul")
                .addInput(base + "/x_scale").addInput(q[1].getName()).addOutput(base + "/scale"));
        out.addNode(Onnx.NodeProto.newBuilder().setName(n.getName() + "/rescale").setOpType("Mul")
                .addInput(base + "/accf").addInput(base + "/scale")
                .addOutput(bias != null ? base + "/scaled" : n.getOutput(0)));
        if (bias != null) {
            out.addNode(Onnx.NodeProto.newBuilder().setName(n.getName() + "/bias").setOpType("Add")
                    .addInput(base + "/scaled").addInput(bias).addOutput(n.getOutput(0)));
        }
    }

    /** The weight of a 2-D, ungrouped Conv this conversion handles, or null. */
    private static Onnx.TensorProto fitsConv(Onnx.NodeProto n, Map<String, Onnx.TensorProto> initializers) {
        if (!n.getOpType().equals("Conv") || !(n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"))
                || initializers.containsKey(n.getInput(0))) {
            return null;
        }
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("group") && a.getI() != 1) {
                return null;
            }
        }
        Onnx.TensorProto w = initializers.get(n.getInput(1));
        if (w == null || w.getDataType() != Onnx.TensorProto.DataType.FLOAT_VALUE || w.getDimsCount() != 4) {
            return null;
        }
        long count = w.getDims(0) * w.getDims(1) * w.getDims(2) * w.getDims(3);
        if (count < MIN_ELEMENTS || count > Integer.MAX_VALUE - 8) {
            return null;
        }
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            Onnx.TensorProto b = initializers.get(n.getInput(2));
            if (b == null || b.getDataType() != Onnx.TensorProto.DataType.FLOAT_VALUE) {
                return null;
            }
        }
        return w;
    }

    /**
     * The uint8 weight (symmetric per output channel, zero point 128), its scales {@code [C, 1, 1]}
     * and the zero point.
     */
    private static Onnx.TensorProto[] quantizedConv(Onnx.TensorProto w, OnnxModel weights) {
        int c = (int) w.getDims(0);
        int per = (int) (w.getDims(1) * w.getDims(2) * w.getDims(3));
        // Quantized as a [per, c] matrix would be; here the channel is the outer dimension.
        float[] f = weights.floats(w.getName());
        float[] scales = new float[c];
        byte[] q = new byte[f.length];
        for (int o = 0; o < c; o++) {
            float max = 0;
            for (int i = 0; i < per; i++) {
                max = Math.max(max, Math.abs(f[o * per + i]));
            }
            scales[o] = max == 0f ? 1f : max / 127f;
            for (int i = 0; i < per; i++) {
                int v = Math.round(f[o * per + i] / scales[o]);
                q[o * per + i] = (byte) (128 + Math.max(-127, Math.min(127, v)));
            }
        }
        Onnx.TensorProto.Builder values = Onnx.TensorProto.newBuilder().setName(w.getName() + "_uint8")
                .setDataType(Onnx.TensorProto.DataType.UINT8_VALUE).addAllDims(w.getDimsList())
                .setRawData(ByteString.copyFrom(q));
        Onnx.TensorProto scale = floats(w.getName() + "_scale", scales, c, 1, 1);
        Onnx.TensorProto zero = Onnx.TensorProto.newBuilder().setName(w.getName() + "_zero")
                .setDataType(Onnx.TensorProto.DataType.UINT8_VALUE).setRawData(ByteString.copyFrom(new byte[] {(byte) 128}))
                .build();
        return new Onnx.TensorProto[] {values.build(), scale, zero};
    }

    private static Onnx.TensorProto floats(String name, float[] v, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** The weight of a MatMul this conversion handles, or null. */
    private static Onnx.TensorProto fits(Onnx.NodeProto n, Map<String, Onnx.TensorProto> initializers) {
        if (!n.getOpType().equals("MatMul") || !(n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"))
                || n.getInputCount() != 2 || initializers.containsKey(n.getInput(0))) {
            return null;
        }
        Onnx.TensorProto w = initializers.get(n.getInput(1));
        if (w == null || w.getDataType() != Onnx.TensorProto.DataType.FLOAT_VALUE || w.getDimsCount() != 2
                || w.getDims(0) * w.getDims(1) < MIN_ELEMENTS || w.getDims(0) * w.getDims(1) > Integer.MAX_VALUE - 8) {
            return null;
        }
        return w;
    }

    /** The int8 weight and its scales as initializers named after {@code w}. */
    private static Onnx.TensorProto[] quantized(Onnx.TensorProto w, OnnxModel weights) {
        int k = (int) w.getDims(0);
        int n = (int) w.getDims(1);
        Quantized q = quantizeColumns(weights.floats(w.getName()), k, n);
        Onnx.TensorProto values = Onnx.TensorProto.newBuilder()
                .setName(w.getName() + "_int8")
                .setDataType(Onnx.TensorProto.DataType.INT8_VALUE)
                .addDims(k).addDims(n)
                .setRawData(ByteString.copyFrom(q.values()))
                .build();
        ByteBuffer scales = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        scales.asFloatBuffer().put(q.scales());
        Onnx.TensorProto scale = Onnx.TensorProto.newBuilder()
                .setName(w.getName() + "_scale")
                .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                .addDims(n)
                .setRawData(ByteString.copyFrom(scales.array()))
                .build();
        return new Onnx.TensorProto[] {values, scale};
    }
}
