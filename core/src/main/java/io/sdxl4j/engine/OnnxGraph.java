// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes small ONNX graphs (opset 17) with a minimal protobuf encoder over the field numbers of
 * {@code onnx.proto}: the element-wise kernels a device-resident engine runs through its own
 * sessions, and the fake components of the tests. Not for real models.
 */
public final class OnnxGraph {

    public static final int FLOAT = 1;
    public static final int INT64 = 7;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;

    /** Passed as the dims of {@link #input}/{@link #output}: the tensor's rank is left open (any shape). */
    public static final Object[] ANY_SHAPE = null;

    private final ByteArrayOutputStream graph = new ByteArrayOutputStream();

    /** A graph input; dims are Long (fixed) or String (symbolic), or {@link #ANY_SHAPE}. */
    public OnnxGraph input(String name, int type, Object... dims) {
        field(graph, 11, valueInfo(name, type, dims));
        return this;
    }

    public OnnxGraph output(String name, int type, Object... dims) {
        field(graph, 12, valueInfo(name, type, dims));
        return this;
    }

    /** A node; attributes as name/value pairs: Long for INT, long[] for INTS, Float for FLOAT. */
    public OnnxGraph node(String op, String[] inputs, String output, Object... attributes) {
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        for (String in : inputs) {
            string(n, 1, in);
        }
        string(n, 2, output);
        string(n, 3, output + "_" + op);
        string(n, 4, op);
        for (int i = 0; i < attributes.length; i += 2) {
            ByteArrayOutputStream a = new ByteArrayOutputStream();
            string(a, 1, (String) attributes[i]);
            Object v = attributes[i + 1];
            if (v instanceof Long l) {
                varintField(a, 3, l);
                varintField(a, 20, 2);
            } else if (v instanceof long[] ls) {
                for (long l : ls) {
                    varintField(a, 8, l);
                }
                varintField(a, 20, 7);
            } else if (v instanceof Float f) {
                tag(a, 2, 5);
                int bits = Float.floatToIntBits(f);
                for (int k = 0; k < 4; k++) {
                    a.write((bits >>> (8 * k)) & 0xFF);
                }
                varintField(a, 20, 1);
            }
            field(n, 5, a.toByteArray());
        }
        field(graph, 1, n.toByteArray());
        return this;
    }

    /** A float32 scalar initializer. */
    public OnnxGraph scalar(String name, float value) {
        ByteBuffer raw = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value);
        field(graph, 5, tensor(name, FLOAT, new long[0], raw.array()));
        return this;
    }

    /** A 1-D int64 initializer. */
    public OnnxGraph longs(String name, long... values) {
        ByteBuffer raw = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            raw.putLong(v);
        }
        field(graph, 5, tensor(name, INT64, new long[] {values.length}, raw.array()));
        return this;
    }

    public byte[] toBytes() {
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        varintField(model, 1, 8);
        ByteArrayOutputStream opset = new ByteArrayOutputStream();
        string(opset, 1, "");
        varintField(opset, 2, 17);
        field(model, 8, opset.toByteArray());
        string(model, 2, "sdxl4j");
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        g.writeBytes(graph.toByteArray());
        string(g, 2, "sdxl4j");
        field(model, 7, g.toByteArray());
        return model.toByteArray();
    }

    public void write(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, toBytes());
    }

    private static byte[] valueInfo(String name, int type, Object... dims) {
        ByteArrayOutputStream tensorType = new ByteArrayOutputStream();
        varintField(tensorType, 1, type);
        if (dims != null) {
            field(tensorType, 2, shape(dims));
        }
        ByteArrayOutputStream typeProto = new ByteArrayOutputStream();
        field(typeProto, 1, tensorType.toByteArray());
        ByteArrayOutputStream vi = new ByteArrayOutputStream();
        string(vi, 1, name);
        field(vi, 2, typeProto.toByteArray());
        return vi.toByteArray();
    }

    private static byte[] shape(Object[] dims) {
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        for (Object d : dims) {
            ByteArrayOutputStream dim = new ByteArrayOutputStream();
            if (d instanceof String s) {
                string(dim, 2, s);
            } else {
                varintField(dim, 1, ((Number) d).longValue());
            }
            field(shape, 1, dim.toByteArray());
        }
        return shape.toByteArray();
    }

    private static byte[] tensor(String name, int type, long[] dims, byte[] raw) {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        for (long d : dims) {
            varintField(t, 1, d);
        }
        varintField(t, 2, type);
        string(t, 8, name);
        field(t, 9, raw);
        return t.toByteArray();
    }

    private static void tag(ByteArrayOutputStream out, int field, int wire) {
        varint(out, ((long) field << 3) | wire);
    }

    private static void varintField(ByteArrayOutputStream out, int field, long value) {
        tag(out, field, 0);
        varint(out, value);
    }

    private static void string(ByteArrayOutputStream out, int field, String s) {
        field(out, field, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void field(ByteArrayOutputStream out, int field, byte[] bytes) {
        tag(out, field, 2);
        varint(out, bytes.length);
        out.writeBytes(bytes);
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
