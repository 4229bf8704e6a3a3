// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.onnx.Onnx;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The element type of every tensor of a graph, propagated from its inputs, initializers and
 * constants through the operators SDXL exports use (what ONNX's shape inference would say about
 * types alone, without its Python). A tensor made by an operator this class does not know has no
 * type, and the rewrites that need it leave that part of the graph alone.
 */
final class ElementTypes {

    static final int FLOAT = Onnx.TensorProto.DataType.FLOAT_VALUE;
    static final int FLOAT16 = Onnx.TensorProto.DataType.FLOAT16_VALUE;
    static final int INT64 = Onnx.TensorProto.DataType.INT64_VALUE;
    static final int BOOL = Onnx.TensorProto.DataType.BOOL_VALUE;

    // Outputs of the type of their first (non-empty) input: arithmetic, normalization, layout.
    private static final Set<String> SAME_AS_FIRST = Set.of("Add", "Sub", "Mul", "Div", "Pow", "MatMul", "Gemm",
            "Conv", "ConvTranspose", "Softmax", "LogSoftmax", "LayerNormalization", "InstanceNormalization",
            "GroupNormalization", "BatchNormalization", "Erf", "Sigmoid", "Tanh", "Relu", "LeakyRelu", "Gelu", "Sqrt",
            "Exp", "Log", "Sin", "Cos", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Round", "Clip", "Max", "Min",
            "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "Resize", "Upsample", "Reshape", "Transpose",
            "Concat", "Unsqueeze", "Squeeze", "Slice", "Expand", "Identity", "Flatten", "Split", "Tile", "Gather",
            "Pad", "Trilu", "CumSum", "Range", "Einsum", "AveragePool", "MaxPool", "GlobalAveragePool", "DepthToSpace",
            "SpaceToDepth", "Dropout", "HardSigmoid", "Softplus", "Mish", "Elu", "Selu",
            // com.microsoft operators this project writes
            "MultiHeadAttention", "BiasGelu", "FastGelu", "SkipLayerNormalization", "BiasAdd");
    private static final Set<String> BOOLEAN = Set.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "Not", "And", "Or", "Xor", "IsNaN", "IsInf");
    private static final Set<String> INTEGER = Set.of("Shape", "Size", "NonZero", "ArgMax", "ArgMin");

    private ElementTypes() {
    }

    /** Tensor name to ONNX element type, for every tensor whose type follows from the rules. */
    static Map<String, Integer> of(Onnx.GraphProto graph) {
        Map<String, Integer> types = new HashMap<>();
        for (Onnx.ValueInfoProto v : graph.getInputList()) {
            if (v.getType().hasTensorType()) {
                types.put(v.getName(), v.getType().getTensorType().getElemType());
            }
        }
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            types.put(t.getName(), t.getDataType());
        }
        for (Onnx.NodeProto n : graph.getNodeList()) {
            infer(n, types).ifPresent(t -> {
                for (int i = 0; i < n.getOutputCount(); i++) {
                    if (!n.getOutput(i).isEmpty()) {
                        types.put(n.getOutput(i), i == 0 ? t : secondary(n, t));
                    }
                }
            });
        }
        return types;
    }

    private static int secondary(Onnx.NodeProto n, int first) {
        // TopK's indices, Dropout's mask, LayerNormalization's mean and inverse deviation (float).
        return switch (n.getOpType()) {
            case "TopK" -> INT64;
            case "Dropout" -> BOOL;
            default -> first;
        };
    }

    private static Optional<Integer> infer(Onnx.NodeProto n, Map<String, Integer> types) {
        String op = n.getOpType();
        if (op.equals("Constant")) {
            for (Onnx.AttributeProto a : n.getAttributeList()) {
                if (a.getName().equals("value")) {
                    return Optional.of(a.getT().getDataType());
                }
                if (a.getName().equals("value_float") || a.getName().equals("value_floats")) {
                    return Optional.of(FLOAT);
                }
                if (a.getName().equals("value_int") || a.getName().equals("value_ints")) {
                    return Optional.of(INT64);
                }
            }
            return Optional.empty();
        }
        if (op.equals("ConstantOfShape")) {
            return Optional.of(attribute(n, "value").map(a -> a.getT().getDataType()).orElse(FLOAT));
        }
        if (op.equals("Cast")) {
            return attribute(n, "to").map(a -> (int) a.getI());
        }
        if (op.equals("EyeLike") || op.equals("RandomNormalLike") || op.equals("RandomUniformLike")) {
            Optional<Integer> dtype = attribute(n, "dtype").map(a -> (int) a.getI());
            return dtype.isPresent() ? dtype : Optional.ofNullable(types.get(n.getInput(0)));
        }
        if (INTEGER.contains(op)) {
            return Optional.of(INT64);
        }
        if (BOOLEAN.contains(op)) {
            return Optional.of(BOOL);
        }
        if (op.equals("Where")) {
            return Optional.ofNullable(types.get(n.getInput(1)));
        }
        if (SAME_AS_FIRST.contains(op)) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty()) {
                    return Optional.ofNullable(types.get(in));
                }
            }
        }
        return Optional.empty();
    }

    static Optional<Onnx.AttributeProto> attribute(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }
}
