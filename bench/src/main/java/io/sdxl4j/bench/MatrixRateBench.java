// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import com.google.protobuf.ByteString;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's matrix-multiply rates through ONNX Runtime's CPU provider, per number format: one
 * {@code x[4096, 1280] · W[1280, 1280]} (an SDXL attention projection at 1024², 13.4 GFLOP) with a
 * constant weight, as float32 {@code MatMul}; int8 {@code com.microsoft.DynamicQuantizeMatMul} (int8
 * weight per column, activation quantized per call; what {@link io.sdxl4j.model.Int8Weights} makes);
 * {@code DynamicQuantizeLinear + MatMulInteger} (the standard-op form); {@code MatMulNBits} 8- and
 * 4-bit weight-only with int8 compute ({@code accuracy_level = 4}); float16 and bfloat16
 * {@code MatMul} between casts. And one SDXL 3×3 convolution {@code [1, 320, 128, 128]} with 320
 * filters (30.2 GFLOP) as float32 {@code Conv} against {@code DynamicQuantizeLinear + ConvInteger}.
 * A format ONNX Runtime has no CPU kernel for fails in setup (JMH reports the error).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class MatrixRateBench {

    static final int M = 4096;
    static final int K = 1280;
    static final int N = 1280;
    static final int CONV_C = 320;
    static final int CONV_HW = 128;

    @Param({"fp32", "int8-dqmm", "int8-matmulinteger", "nbits8", "nbits4", "fp16", "bf16", "conv-fp32",
            "conv-int8"})
    public String kind;

    private Path dir;
    private Engine engine;
    private EngineSession session;
    private HostTensor x;
    private HostTensor y;
    private Binding binding;

    /** FLOPs of one call of {@code kind}. */
    static double flops(String kind) {
        return kind.startsWith("conv") ? 2.0 * CONV_C * CONV_C * 9 * CONV_HW * CONV_HW : 2.0 * M * K * N;
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sdxl4j-rates-");
        Path file = dir.resolve(kind + ".onnx");
        Files.write(file, model(kind).toByteArray());
        engine = Engines.create(PipelineOptions.defaults());
        session = engine.open(ModelSource.of(file), kind + ".onnx");
        boolean conv = kind.startsWith("conv");
        x = conv ? HostTensor.floats(1, CONV_C, CONV_HW, CONV_HW) : HostTensor.floats(M, K);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < x.size(); i++) {
            x.floatBuffer().put(i, (float) r.nextGaussian());
        }
        y = conv ? HostTensor.floats(1, CONV_C, CONV_HW, CONV_HW) : HostTensor.floats(M, N);
        binding = session.bind(Map.of("x", x), Map.of("y", y));
    }

    /** One product; GFLOP/s = {@link #flops} / time. */
    @Benchmark
    public void product() {
        binding.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        binding.close();
        x.close();
        y.close();
        session.close();
        engine.close();
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    /** The one-product model of {@code kind}, input {@code x}, output {@code y}, weights embedded. */
    static Onnx.ModelProto model(String kind) {
        Graph g = new Graph();
        SplittableRandom r = new SplittableRandom(7);
        if (kind.startsWith("conv")) {
            long[] xs = {1, CONV_C, CONV_HW, CONV_HW};
            g.input("x", Onnx.TensorProto.DataType.FLOAT_VALUE, xs);
            g.output("y", Onnx.TensorProto.DataType.FLOAT_VALUE, xs);
            int count = CONV_C * CONV_C * 9;
            long[] ws = {CONV_C, CONV_C, 3, 3};
            if (kind.equals("conv-fp32")) {
                g.init("w", floats(count, r, 0.02f), Onnx.TensorProto.DataType.FLOAT_VALUE, ws);
                g.node("Conv", List.of("x", "w"), List.of("y"), Map.of("pads", new long[] {1, 1, 1, 1}));
            } else {
                // ConvInteger is u8·u8 in ONNX Runtime's CPU provider: the weight as uint8 around 128.
                byte[] w = new byte[count];
                for (int i = 0; i < count; i++) {
                    w[i] = (byte) (128 + r.nextInt(-100, 101));
                }
                g.init("w", w, Onnx.TensorProto.DataType.UINT8_VALUE, ws);
                g.init("wz", new byte[] {(byte) 128}, Onnx.TensorProto.DataType.UINT8_VALUE);
                g.init("ws", le(new float[] {0.0002f}), Onnx.TensorProto.DataType.FLOAT_VALUE);
                g.node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xz"), Map.of());
                g.node("ConvInteger", List.of("xq", "w", "xz", "wz"), List.of("acc"),
                        Map.of("pads", new long[] {1, 1, 1, 1}));
                g.node("Cast", List.of("acc"), List.of("accf"), Map.of("to", 1L));
                g.node("Mul", List.of("xs", "ws"), List.of("s"), Map.of());
                g.node("Mul", List.of("accf", "s"), List.of("y"), Map.of());
            }
            return g.model();
        }
        g.input("x", Onnx.TensorProto.DataType.FLOAT_VALUE, M, K);
        g.output("y", Onnx.TensorProto.DataType.FLOAT_VALUE, M, N);
        float[] w = floats(K * N, r, 0.03f);
        switch (kind) {
            case "fp32" -> {
                g.init("w", le(w), Onnx.TensorProto.DataType.FLOAT_VALUE, K, N);
                g.node("MatMul", List.of("x", "w"), List.of("y"), Map.of());
            }
            case "int8-dqmm" -> {
                g.init("w", int8(w), Onnx.TensorProto.DataType.INT8_VALUE, K, N);
                g.init("ws", le(filled(N, 0.03f / 32)), Onnx.TensorProto.DataType.FLOAT_VALUE, N);
                g.domain("DynamicQuantizeMatMul", List.of("x", "w", "ws"), List.of("y"), Map.of());
            }
            case "int8-matmulinteger" -> {
                g.init("w", int8(w), Onnx.TensorProto.DataType.INT8_VALUE, K, N);
                g.init("wz", new byte[N], Onnx.TensorProto.DataType.INT8_VALUE, N);
                g.init("ws", le(filled(N, 0.03f / 32)), Onnx.TensorProto.DataType.FLOAT_VALUE, N);
                g.node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xz"), Map.of());
                g.node("MatMulInteger", List.of("xq", "w", "xz", "wz"), List.of("acc"), Map.of());
                g.node("Cast", List.of("acc"), List.of("accf"), Map.of("to", 1L));
                g.node("Mul", List.of("xs", "ws"), List.of("s"), Map.of());
                g.node("Mul", List.of("accf", "s"), List.of("y"), Map.of());
            }
            case "nbits8", "nbits4" -> {
                int bits = kind.equals("nbits8") ? 8 : 4;
                int block = 32;
                int blocks = K / block;
                int blob = block * bits / 8;
                byte[] packed = new byte[N * blocks * blob];
                for (int i = 0; i < packed.length; i++) {
                    packed[i] = (byte) r.nextInt(256);
                }
                g.init("w", packed, Onnx.TensorProto.DataType.UINT8_VALUE, N, blocks, blob);
                g.init("ws", le(filled(N * blocks, 0.001f)), Onnx.TensorProto.DataType.FLOAT_VALUE, (long) N * blocks);
                g.domain("MatMulNBits", List.of("x", "w", "ws"), List.of("y"), Map.of("K", (long) K, "N", (long) N,
                        "bits", (long) bits, "block_size", (long) block, "accuracy_level", 4L));
            }
            case "fp16", "bf16" -> {
                int type = kind.equals("fp16") ? Onnx.TensorProto.DataType.FLOAT16_VALUE
                        : Onnx.TensorProto.DataType.BFLOAT16_VALUE;
                byte[] half = new byte[2 * w.length];
                ByteBuffer b = ByteBuffer.wrap(half).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : w) {
                    b.putShort(kind.equals("fp16") ? Float.floatToFloat16(v)
                            : (short) (Float.floatToRawIntBits(v) >>> 16));
                }
                g.init("w", half, type, K, N);
                g.node("Cast", List.of("x"), List.of("xh"), Map.of("to", (long) type));
                g.node("MatMul", List.of("xh", "w"), List.of("yh"), Map.of());
                g.node("Cast", List.of("yh"), List.of("y"), Map.of("to", 1L));
            }
            default -> throw new IllegalArgumentException("kind " + kind);
        }
        return g.model();
    }

    private static float[] floats(int n, SplittableRandom r, float scale) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) r.nextGaussian() * scale;
        }
        return w;
    }

    private static float[] filled(int n, float v) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, v);
        return f;
    }

    private static byte[] int8(float[] w) {
        byte[] q = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            q[i] = (byte) Math.max(-127, Math.min(127, Math.round(w[i] / (0.03f / 32))));
        }
        return q;
    }

    static byte[] le(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    /** A tiny builder of one-product graphs (opset 17, com.microsoft 1). */
    static final class Graph {
        private final Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("rate");

        void input(String name, int type, long... dims) {
            g.addInput(value(name, type, dims));
        }

        void output(String name, int type, long... dims) {
            g.addOutput(value(name, type, dims));
        }

        void init(String name, byte[] raw, int type, long... dims) {
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type)
                    .setRawData(ByteString.copyFrom(raw));
            for (long d : dims) {
                t.addDims(d);
            }
            g.addInitializer(t);
        }

        void init(String name, float[] v, int type, long... dims) {
            init(name, le(v), type, dims);
        }

        void node(String op, List<String> in, List<String> out, Map<String, Object> attrs) {
            g.addNode(node(op, "", in, out, attrs));
        }

        void domain(String op, List<String> in, List<String> out, Map<String, Object> attrs) {
            g.addNode(node(op, "com.microsoft", in, out, attrs));
        }

        private static Onnx.NodeProto node(String op, String domain, List<String> in, List<String> out,
                                           Map<String, Object> attrs) {
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setDomain(domain)
                    .setName(op + "_" + out.get(0)).addAllInput(in).addAllOutput(out);
            attrs.forEach((k, v) -> {
                Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(k);
                if (v instanceof long[] ints) {
                    a.setType(Onnx.AttributeProto.AttributeType.INTS);
                    for (long i : ints) {
                        a.addInts(i);
                    }
                } else {
                    a.setType(Onnx.AttributeProto.AttributeType.INT).setI((Long) v);
                }
                n.addAttribute(a);
            });
            return n.build();
        }

        private static Onnx.ValueInfoProto value(String name, int type, long... dims) {
            Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
            for (long d : dims) {
                shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
        }

        Onnx.ModelProto model() {
            return Onnx.ModelProto.newBuilder().setIrVersion(8).setProducerName("sdxl4j-rates").setGraph(g)
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                    .build();
        }
    }
}
