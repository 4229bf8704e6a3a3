// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.adapter.OnnxModel;
import io.sdxl4j.SdxlException;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.Float16;
import io.sdxl4j.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Converts an fp32 export's graph to float16 for GPUs, as ONNX Runtime's {@code float16.py}
 * ({@code convert_float_to_float16(keep_io_types=True)}) does: every float32 weight and activation
 * becomes float16, with a Cast after each float input and before each float output, so that the
 * graph's interface stays the export's (the pipeline's buffers do not change). Kept in float32,
 * where diffusers keeps them in an fp16 pipeline: the sinusoidal time embeddings (diffusers'
 * {@code get_timestep_embedding} computes in float32 and casts the result: a timestep or a size of
 * 1000 has a float16 spacing of 0.5, which would scramble the fast sines), i.e. every {@code Sin}
 * and {@code Cos} and what they are computed from; and the operands ONNX requires to be float32
 * ({@code Resize}'s scales). The VAE is not converted at all: SDXL's VAE overflows float16
 * (diffusers' {@code force_upcast}).
 *
 * <p>Weights held in the graph are converted in it; external ones are read from beside the export
 * and returned as float16 replacement tensors (the session's external initializers), so that a
 * 5 GB fp16 UNet never has to be one protobuf message.
 */
public final class Float16Conversion {

    /** The conversion's name, for caches and logs. */
    public static final String TAG = "fp16";

    private static final int FLOAT = ElementTypes.FLOAT;
    private static final int FLOAT16 = ElementTypes.FLOAT16;

    private Float16Conversion() {
    }

    /**
     * The converted model and the float16 weights that replace its external float32 initializers
     * (owned by the caller; shape as the originals).
     */
    public record Converted(Onnx.ModelProto model, Map<String, HostTensor> weights, int castsAdded) {
    }

    /**
     * Converts {@code model}, reading its external weights from {@code folder}.
     *
     * @throws SdxlException naming {@code label} when an operator's types cannot be followed or the
     *                       external weights cannot be read
     */
    public static Converted convert(Onnx.ModelProto model, Path folder, String label) {
        Onnx.GraphProto graph = model.getGraph();
        Map<String, Integer> types = ElementTypes.of(graph);
        for (Onnx.NodeProto n : graph.getNodeList()) {
            for (String out : n.getOutputList()) {
                if (!out.isEmpty() && !types.containsKey(out)) {
                    throw new SdxlException(label + ": float16 conversion: the type of " + n.getOpType() + " "
                            + n.getName() + "'s output is not known");
                }
                if (FLOAT16 == types.getOrDefault(out, 0)) {
                    throw new SdxlException(label + ": float16 conversion: the graph is float16 already");
                }
            }
        }
        Map<String, Onnx.NodeProto> producers = new HashMap<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            n.getOutputList().forEach(o -> producers.put(o, n));
        }
        Set<Onnx.NodeProto> fp32 = float32Nodes(graph, producers, types);

        // Which type each float initializer and Constant is wanted in by its consumers.
        Map<String, Set<Integer>> wanted = new HashMap<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            for (int i = 0; i < n.getInputCount(); i++) {
                String in = n.getInput(i);
                if (!in.isEmpty() && types.getOrDefault(in, 0) == FLOAT) {
                    wanted.computeIfAbsent(in, k -> new HashSet<>()).add(slotType(n, i, fp32));
                }
            }
        }
        Set<String> outputs = new HashSet<>();
        graph.getOutputList().forEach(o -> outputs.add(o.getName()));

        Onnx.GraphProto.Builder out = graph.toBuilder().clearNode().clearInitializer();
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        Map<String, Integer> stored = new HashMap<>(); // float tensor -> the type it is held in now
        for (Onnx.ValueInfoProto in : graph.getInputList()) {
            if (types.getOrDefault(in.getName(), 0) == FLOAT) {
                stored.put(in.getName(), FLOAT);
            }
        }
        try {
            for (Onnx.TensorProto t : graph.getInitializerList()) {
                Set<Integer> w = wanted.getOrDefault(t.getName(), Set.of());
                if (t.getDataType() == FLOAT && w.equals(Set.of(FLOAT16))) {
                    if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
                        weights.put(t.getName(), external(t, folder, label));
                        out.addInitializer(t); // its type and data come from the replacement
                    } else {
                        out.addInitializer(toHalf(t));
                    }
                    stored.put(t.getName(), FLOAT16);
                } else {
                    out.addInitializer(t);
                    if (t.getDataType() == FLOAT) {
                        stored.put(t.getName(), FLOAT);
                    }
                }
            }
        } catch (RuntimeException e) {
            weights.values().forEach(HostTensor::close);
            throw new SdxlException(label + ": float16 conversion: cannot read the weights (" + e.getMessage() + ")",
                    e);
        }

        Map<String, String> casts = new HashMap<>(); // "tensor|type" -> cast output
        Map<String, String> renamed = new HashMap<>(); // a graph output made in float16 -> its float16 name
        int added = 0;
        for (Onnx.NodeProto n : graph.getNodeList()) {
            boolean constant = n.getOpType().equals("Constant");
            int precision = fp32.contains(n) ? FLOAT : FLOAT16;
            if (constant && types.getOrDefault(n.getOutput(0), 0) == FLOAT) {
                precision = wanted.getOrDefault(n.getOutput(0), Set.of()).equals(Set.of(FLOAT16)) ? FLOAT16 : FLOAT;
            }
            Onnx.NodeProto.Builder b = n.toBuilder().clearInput();
            for (int i = 0; i < n.getInputCount(); i++) {
                String in = n.getInput(i);
                String name = renamed.getOrDefault(in, in);
                Integer have = stored.get(name);
                int need = slotType(n, i, fp32);
                if (have != null && have != need) {
                    String key = name + "|" + need;
                    String cast = casts.get(key);
                    if (cast == null) {
                        cast = name + (need == FLOAT16 ? "/sdxl4j_to_fp16" : "/sdxl4j_to_fp32");
                        out.addNode(cast(name, cast, need));
                        stored.put(cast, need);
                        casts.put(key, cast);
                        added++;
                    }
                    name = cast;
                }
                b.addInput(name);
            }
            b.clearAttribute();
            for (Onnx.AttributeProto a : n.getAttributeList()) {
                b.addAttribute(precision == FLOAT16 ? halfAttribute(n, a) : a);
            }
            b.clearOutput();
            for (String o : n.getOutputList()) {
                String name = o;
                if (!o.isEmpty() && types.getOrDefault(o, 0) == FLOAT) {
                    if (precision == FLOAT16 && outputs.contains(o)) {
                        name = o + "/sdxl4j_fp16";
                        renamed.put(o, name);
                    }
                    stored.put(name, precision);
                }
                b.addOutput(name);
            }
            out.addNode(b);
        }
        for (Map.Entry<String, String> e : renamed.entrySet()) {
            out.addNode(cast(e.getValue(), e.getKey(), FLOAT));
            added++;
        }
        // Type annotations of intermediate tensors would now be wrong: ONNX Runtime infers them again.
        out.clearValueInfo();
        return new Converted(model.toBuilder().setGraph(out).build(), weights, added);
    }

    // The nodes that stay float32: Sin, Cos and every node they are computed from.
    private static Set<Onnx.NodeProto> float32Nodes(Onnx.GraphProto graph, Map<String, Onnx.NodeProto> producers,
                                                    Map<String, Integer> types) {
        Set<Onnx.NodeProto> keep = new HashSet<>();
        ArrayDeque<Onnx.NodeProto> work = new ArrayDeque<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            if (n.getOpType().equals("Sin") || n.getOpType().equals("Cos")) {
                work.add(n);
            }
        }
        while (!work.isEmpty()) {
            Onnx.NodeProto n = work.poll();
            if (!keep.add(n)) {
                continue;
            }
            for (String in : n.getInputList()) {
                Onnx.NodeProto p = producers.get(in);
                if (p != null && types.getOrDefault(in, 0) == FLOAT) {
                    work.add(p);
                }
            }
        }
        return keep;
    }

    // The type input i of n must have: float32 for the operands ONNX defines as float, else the node's.
    private static int slotType(Onnx.NodeProto n, int i, Set<Onnx.NodeProto> fp32) {
        boolean floatOnly = (n.getOpType().equals("Resize") && i >= 1) || (n.getOpType().equals("Upsample") && i == 1);
        return floatOnly || fp32.contains(n) ? FLOAT : FLOAT16;
    }

    // Attributes that name or hold a float32 value: Cast's target, ConstantOfShape's and Constant's value.
    private static Onnx.AttributeProto halfAttribute(Onnx.NodeProto n, Onnx.AttributeProto a) {
        if (n.getOpType().equals("Cast") && a.getName().equals("to") && a.getI() == FLOAT) {
            return a.toBuilder().setI(FLOAT16).build();
        }
        if ((n.getOpType().equals("ConstantOfShape") || n.getOpType().equals("Constant")) && a.getName().equals("value")
                && a.getT().getDataType() == FLOAT) {
            return a.toBuilder().setT(toHalf(a.getT())).build();
        }
        if (n.getOpType().equals("Constant") && a.getName().equals("value_float")) {
            Onnx.TensorProto t = Onnx.TensorProto.newBuilder().setDataType(FLOAT).addFloatData(a.getF()).build();
            return Onnx.AttributeProto.newBuilder().setName("value").setType(Onnx.AttributeProto.AttributeType.TENSOR)
                    .setT(toHalf(t)).build();
        }
        return a;
    }

    private static Onnx.NodeProto cast(String in, String out, int to) {
        return Onnx.NodeProto.newBuilder().setOpType("Cast").setName(out).addInput(in).addOutput(out)
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("to").setI(to)
                        .setType(Onnx.AttributeProto.AttributeType.INT)).build();
    }

    // An embedded float32 tensor as float16 (round to nearest even, as numpy's astype).
    private static Onnx.TensorProto toHalf(Onnx.TensorProto t) {
        FloatBuffer values;
        if (t.getFloatDataCount() > 0) {
            float[] v = new float[t.getFloatDataCount()];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.getFloatData(i);
            }
            values = FloatBuffer.wrap(v);
        } else {
            values = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        }
        int count = values.remaining();
        ByteBuffer raw = ByteBuffer.allocate(2 * count).order(ByteOrder.LITTLE_ENDIAN);
        Float16.fromFloats(values, raw.asShortBuffer(), count);
        return t.toBuilder().clearFloatData().setDataType(FLOAT16)
                .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())).build();
    }

    // An external float32 initializer converted to a float16 tensor, from its data mapped (the
    // float32 copy is never on the heap; the export's checks of location and bounds are OnnxModel's).
    private static HostTensor external(Onnx.TensorProto t, Path folder, String label) {
        long[] shape = new long[t.getDimsCount()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.getDims(i);
            count *= shape[i];
        }
        ByteBuffer data = OnnxModel.externalData(folder, t, 4 * count, label);
        HostTensor half = HostTensor.allocate(DataType.FLOAT16, shape);
        try {
            Float16.fromFloats(data.asFloatBuffer(), half.halfBuffer(), (int) count);
            return half;
        } catch (RuntimeException e) {
            half.close();
            throw e;
        }
    }

    /**
     * {@code replacements} (LoRA-merged weights, whose ownership passes to the result) as the
     * converted graph holds them: float16 for the initializers the conversion made float16.
     */
    public static Map<String, HostTensor> halfOf(Map<String, HostTensor> replacements, Converted converted) {
        Set<String> half = new HashSet<>(halfInitializers(converted));
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : replacements.entrySet()) {
            HostTensor r = e.getValue();
            if (r.dataType() != DataType.FLOAT32 || !half.contains(e.getKey())) {
                out.put(e.getKey(), r);
                continue;
            }
            HostTensor h = HostTensor.allocate(DataType.FLOAT16, r.shape());
            Float16.fromFloats(r.floatBuffer(), h.halfBuffer(), (int) r.elementCount());
            r.close();
            out.put(e.getKey(), h);
        }
        return out;
    }

    /** The names of a model's float16 initializers and of the replacements, for tests and logs. */
    static List<String> halfInitializers(Converted c) {
        List<String> names = new ArrayList<>(c.weights().keySet());
        for (Onnx.TensorProto t : c.model().getGraph().getInitializerList()) {
            if (t.getDataType() == FLOAT16) {
                names.add(t.getName());
            }
        }
        return names;
    }
}
