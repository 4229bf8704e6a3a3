// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.sdxl4j.onnx.Onnx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes the files the adapter tests need: safetensors files (written here byte by byte, as the
 * format defines them, independently of the reader) and small ONNX graphs (with ONNX's generated
 * protobuf classes), with node names as optimum's TorchScript exports write them.
 */
final class TestFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TestFiles() {
    }

    /** A tensor to write: dtype F32, F16, BF16 (from {@code values}) or any dtype from {@code raw}. */
    record T(String dtype, long[] shape, float[] values, byte[] raw) {
        static T f32(float[] values, long... shape) {
            return new T("F32", shape, values, null);
        }

        static T f16(float[] values, long... shape) {
            return new T("F16", shape, values, null);
        }

        static T bf16(float[] values, long... shape) {
            return new T("BF16", shape, values, null);
        }

        static T scalar(float value) {
            return new T("F32", new long[0], new float[] {value}, null);
        }

        byte[] bytes() {
            if (raw != null) {
                return raw;
            }
            int width = dtype.equals("F32") ? 4 : 2;
            ByteBuffer b = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                switch (dtype) {
                    case "F32" -> b.putFloat(v);
                    case "F16" -> b.putShort(Float.floatToFloat16(v));
                    default -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16)); // BF16: truncate
                }
            }
            return b.array();
        }
    }

    /** Writes a safetensors file: header JSON (with {@code metadata} when not empty), then the data. */
    static Path safetensors(Path file, Map<String, T> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        List<byte[]> data = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, T> e : tensors.entrySet()) {
            byte[] bytes = e.getValue().bytes();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            var shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            var offsets = t.putArray("data_offsets");
            offsets.add(offset);
            offsets.add(offset + bytes.length);
            offset += bytes.length;
            data.add(bytes);
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate((int) (8 + json.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json);
        data.forEach(out::put);
        return write(file, out.array());
    }

    static Path safetensors(Path file, Map<String, T> tensors) {
        return safetensors(file, tensors, Map.of());
    }

    static Path write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.write(file, bytes);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deterministic values in [-1, 1). */
    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextFloat() * 2 - 1;
        }
        return out;
    }

    static <K, V> Map<K, V> map(Object... kv) {
        Map<K, V> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked")
            K k = (K) kv[i];
            @SuppressWarnings("unchecked")
            V v = (V) kv[i + 1];
            m.put(k, v);
        }
        return m;
    }

    // ---- ONNX

    /** A float32 (or, with {@code fp16}, float16) initializer with raw little-endian data. */
    static Onnx.TensorProto initializer(String name, float[] values, boolean fp16, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * (fp16 ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            if (fp16) {
                b.putShort(Float.floatToFloat16(v));
            } else {
                b.putFloat(v);
            }
        }
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(fp16 ? Onnx.TensorProto.DataType.FLOAT16_VALUE : Onnx.TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** A float32 initializer stored in {@code dataFile} (beside the model) at {@code offset}. */
    static Onnx.TensorProto externalInitializer(String name, String dataFile, long offset, int count, long... dims) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", dataFile))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Long.toString(count * 4L)));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static Onnx.StringStringEntryProto entry(String k, String v) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    static Onnx.NodeProto node(String op, String name, List<String> inputs, String output, Object... attributes) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs)
                .addOutput(output);
        for (int i = 0; i < attributes.length; i += 2) {
            Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName((String) attributes[i]);
            Object v = attributes[i + 1];
            if (v instanceof Long l) {
                a.setType(Onnx.AttributeProto.AttributeType.INT).setI(l);
            } else if (v instanceof long[] ls) {
                a.setType(Onnx.AttributeProto.AttributeType.INTS);
                for (long l : ls) {
                    a.addInts(l);
                }
            }
            n.addAttribute(a);
        }
        return n.build();
    }

    static Onnx.ValueInfoProto value(String name, int elemType, long... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    /** Writes a model (opset 17) of these parts. */
    static Path model(Path file, List<Onnx.NodeProto> nodes, List<Onnx.TensorProto> initializers,
                      List<Onnx.ValueInfoProto> inputs, List<Onnx.ValueInfoProto> outputs) {
        Onnx.GraphProto graph = Onnx.GraphProto.newBuilder().setName("test").addAllNode(nodes)
                .addAllInitializer(initializers).addAllInput(inputs).addAllOutput(outputs).build();
        Onnx.ModelProto model = Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("sdxl4j-test")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph)
                .build();
        return write(file, model.toByteArray());
    }

    /** Reads an initializer of a model file as float32, with protobuf alone (for independent checks). */
    static float[] initializerValues(Path modelFile, String name) {
        try {
            Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(modelFile));
            for (Onnx.TensorProto t : m.getGraph().getInitializerList()) {
                if (t.getName().equals(name)) {
                    ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                    boolean half = t.getDataType() == Onnx.TensorProto.DataType.FLOAT16_VALUE;
                    float[] out = new float[b.remaining() / (half ? 2 : 4)];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = half ? Float.float16ToFloat(b.getShort(2 * i)) : b.getFloat(4 * i);
                    }
                    return out;
                }
            }
            throw new IllegalArgumentException("no initializer " + name + " in " + modelFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The weight input (input 1) of the node of that name, with protobuf alone. */
    static String weightOf(Path modelFile, String nodeName) {
        try {
            Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(modelFile));
            for (Onnx.NodeProto n : m.getGraph().getNodeList()) {
                if (n.getName().equals(nodeName)) {
                    return n.getInput(1);
                }
            }
            throw new IllegalArgumentException("no node " + nodeName + " in " + modelFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a safetensors F32 tensor with a plain parse of the format (for independent checks). */
    static float[] safetensorsF32(Path file, String key) {
        try {
            byte[] all = Files.readAllBytes(file);
            ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            int n = (int) b.getLong(0);
            var header = JSON.readTree(new String(all, 8, n, StandardCharsets.UTF_8));
            var t = header.get(key);
            if (t == null || !t.get("dtype").asText().equals("F32")) {
                throw new IllegalArgumentException(key + " is not an F32 tensor of " + file);
            }
            int begin = t.get("data_offsets").get(0).asInt();
            int end = t.get("data_offsets").get(1).asInt();
            float[] out = new float[(end - begin) / 4];
            for (int i = 0; i < out.length; i++) {
                out[i] = b.getFloat(8 + n + begin + 4 * i);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
