// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Int8WeightsTest {

    private static final int ROWS = 8;
    private static final int K = 64;
    private static final int N = 96;
    private static final int C = 16;
    private static final int F = 32;
    private static final int HW = 6;

    private static Engine engine;

    @TempDir
    Path dir;

    @BeforeAll
    static void openEngine() {
        engine = Engines.create(PipelineOptions.defaults());
    }

    @AfterAll
    static void closeEngine() {
        engine.close();
    }

    @Test
    void columnsAreQuantizedSymmetricallyWithOneScaleEach() {
        float[] w = {0.25f, -2f, 0f, -1f, 0.5f, 0f}; // [2, 3]: columns (0.25, -1), (-2, 0.5), (0, 0)
        Int8Weights.Quantized q = Int8Weights.quantizeColumns(w, 2, 3);
        assertEquals(1f / 127, q.scales()[0], 1e-9);
        assertEquals(2f / 127, q.scales()[1], 1e-9);
        assertEquals(1f, q.scales()[2], "a zero column gets scale 1");
        assertEquals(32, q.values()[0]); // 0.25 · 127 = 31.75
        assertEquals(-127, q.values()[1]);
        assertEquals(0, q.values()[2]);
        assertEquals(-127, q.values()[3]);
        assertEquals(32, q.values()[4]); // 0.5 / (2 / 127) = 31.75
    }

    @Test
    void matMulBecomesDynamicQuantizeMatMulWithinTolerance() throws IOException {
        Path file = writeModel(dir.resolve("model.onnx"));
        Onnx.ModelProto converted = Int8Weights.rewrite(file, "test/model.onnx", false)
                .apply(UnetUpsamplers.read(file, "test/model.onnx")).orElseThrow();
        List<String> ops = converted.getGraph().getNodeList().stream().map(Onnx.NodeProto::getOpType).toList();
        assertEquals(List.of("DynamicQuantizeMatMul", "Conv"), ops);
        assertTrue(converted.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals("w")),
                "the float weight is dropped");
        Onnx.TensorProto q = converted.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("w_int8")).findFirst().orElseThrow();
        assertEquals(Onnx.TensorProto.DataType.INT8_VALUE, q.getDataType());
        assertEquals(List.of((long) K, (long) N), q.getDimsList());

        float[][] fp32 = run(ModelSource.of(file));
        float[][] int8 = run(ModelSource.rewritten(file, converted.toByteArray(), Int8Weights.TAG));
        assertClose(fp32[0], int8[0], 0.02, "matmul");
        assertEquals(0.0, maxDiff(fp32[1], int8[1]), 1e-6, "the convolution stays float32");
    }

    @Test
    void convolutionsConvertOnlyWhenAsked() throws IOException {
        Path file = writeModel(dir.resolve("model.onnx"));
        Onnx.ModelProto converted = Int8Weights.rewrite(file, "test/model.onnx", true)
                .apply(UnetUpsamplers.read(file, "test/model.onnx")).orElseThrow();
        List<String> ops = converted.getGraph().getNodeList().stream().map(Onnx.NodeProto::getOpType).toList();
        assertTrue(ops.contains("ConvInteger"), ops.toString());
        assertFalse(ops.contains("Conv"), ops.toString());
        float[][] fp32 = run(ModelSource.of(file));
        float[][] int8 = run(ModelSource.rewritten(file, converted.toByteArray(), Int8Weights.TAG + "+conv"));
        assertClose(fp32[1], int8[1], 0.02, "conv");
    }

    @Test
    void storedConversionIsReusedWithoutConvertingAgain() throws IOException {
        Path file = writeModel(dir.resolve("model.onnx"));
        Path cache = dir.resolve("cache");
        AtomicInteger conversions = new AtomicInteger();
        GraphRewrite int8 = Int8Weights.rewrite(file, "test/model.onnx", false);
        GraphRewrite counted = new GraphRewrite() {
            @Override
            public String tag() {
                return int8.tag();
            }

            @Override
            public Optional<Onnx.ModelProto> apply(Onnx.ModelProto model) {
                conversions.incrementAndGet();
                return int8.apply(model);
            }
        };
        ModelSource first = ModelGraphs.source(file, "test/model.onnx", List.of(counted), Optional.of(cache));
        ModelSource second = ModelGraphs.source(file, "test/model.onnx", List.of(counted), Optional.of(cache));
        assertEquals(1, conversions.get(), "the second open reads the stored graph");
        assertEquals(first.file(), second.file());
        assertTrue(first.file().startsWith(cache));
        assertEquals(Int8Weights.TAG, second.tag());
        ModelSource otherPrecision = ModelGraphs.source(file, "test/model.onnx",
                List.of(Int8Weights.rewrite(file, "test/model.onnx", true)), Optional.of(cache));
        assertFalse(otherPrecision.file().equals(first.file()), "another conversion has its own entry");

        float[][] inMemory = run(ModelSource.rewritten(file, int8.apply(UnetUpsamplers.read(file, "m")).orElseThrow()
                .toByteArray(), Int8Weights.TAG));
        float[][] stored = run(second);
        assertEquals(0.0, maxDiff(inMemory[0], stored[0]), 0.0, "the stored graph computes the same");
    }

    private static float[][] run(ModelSource source) {
        try (EngineSession s = engine.open(source, "test/model.onnx");
             HostTensor x = HostTensor.floats(ROWS, K); HostTensor y = HostTensor.floats(ROWS, N);
             HostTensor img = HostTensor.floats(1, C, HW, HW); HostTensor out = HostTensor.floats(1, F, HW, HW)) {
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < x.size(); i++) {
                x.floatBuffer().put(i, (float) r.nextGaussian());
            }
            for (int i = 0; i < img.size(); i++) {
                img.floatBuffer().put(i, (float) r.nextGaussian());
            }
            try (Binding b = s.bind(Map.of("x", x, "img", img), Map.of("y", y, "out", out))) {
                b.run();
            }
            return new float[][] {y.toFloatArray(), out.toFloatArray()};
        }
    }

    private static void assertClose(float[] want, float[] got, double relative, String what) {
        double scale = 0;
        for (float v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        double diff = maxDiff(want, got);
        assertTrue(diff > 0, what + ": int8 differs at least a little (else nothing was quantized)");
        assertTrue(diff <= relative * scale, what + ": max difference " + diff + " against outputs up to " + scale);
    }

    private static double maxDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** y = x · w (w external, as exports keep weights), out = Conv(img, k) + bias. */
    static Path writeModel(Path file) throws IOException {
        SplittableRandom r = new SplittableRandom(11);
        float[] w = new float[K * N];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian() * 0.1f;
        }
        float[] k = new float[F * C * 9];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian() * 0.1f;
        }
        float[] bias = new float[F];
        for (int i = 0; i < F; i++) {
            bias[i] = (float) r.nextGaussian();
        }
        Files.write(file.resolveSibling("model.onnx_data"), le(w));
        Onnx.GraphProto g = Onnx.GraphProto.newBuilder().setName("t")
                .addInput(value("x", ROWS, K)).addInput(value("img", 1, C, HW, HW))
                .addOutput(value("y", ROWS, N)).addOutput(value("out", 1, F, HW, HW))
                .addInitializer(Onnx.TensorProto.newBuilder().setName("w").setDataType(1).addDims(K).addDims(N)
                        .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location")
                                .setValue("model.onnx_data"))
                        .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                        .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("length")
                                .setValue(Integer.toString(4 * K * N))))
                .addInitializer(Onnx.TensorProto.newBuilder().setName("k").setDataType(1).addDims(F).addDims(C)
                        .addDims(3).addDims(3).setRawData(ByteString.copyFrom(le(k))))
                .addInitializer(Onnx.TensorProto.newBuilder().setName("b").setDataType(1).addDims(F)
                        .setRawData(ByteString.copyFrom(le(bias))))
                .addNode(Onnx.NodeProto.newBuilder().setName("/proj/MatMul").setOpType("MatMul").addInput("x")
                        .addInput("w").addOutput("y"))
                .addNode(Onnx.NodeProto.newBuilder().setName("/conv/Conv").setOpType("Conv").addInput("img")
                        .addInput("k").addInput("b").addOutput("out")
                        .addAttribute(Onnx.AttributeProto.newBuilder().setName("pads")
                                .setType(Onnx.AttributeProto.AttributeType.INTS).addInts(1).addInts(1).addInts(1)
                                .addInts(1)))
                .build();
        Onnx.ModelProto m = Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
        Files.write(file, m.toByteArray());
        return file;
    }

    private static byte[] le(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    private static Onnx.ValueInfoProto value(String name, long... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
    }
}
