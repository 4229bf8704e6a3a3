// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.sdxl4j.TestData;
import io.sdxl4j.onnx.Onnx;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AttentionFusionTest {

    private static final int BATCH = 2;
    private static final int TOKENS = 6;
    private static final int CONTEXT = 5;
    private static final int CHANNELS = 8;

    @Test
    void scaledDotProductAttentionBecomesOneMultiHeadAttentionWithTheSameOutput() throws Exception {
        Onnx.ModelProto model = new Attention(2).build();
        AttentionFusion.Result r = AttentionFusion.fuse(model).orElseThrow();
        assertEquals(1, r.fused());
        assertEquals(1, AttentionFusion.fusedBlocks(r.model()));
        Onnx.NodeProto mha = node(r.model(), "MultiHeadAttention");
        assertEquals(AttentionFusion.DOMAIN, mha.getDomain());
        assertEquals(2, attribute(mha, "num_heads").orElseThrow().getI());
        assertTrue(attribute(mha, "scale").isEmpty(), "1/sqrt(head width) is the kernel's default");
        assertEquals(List.of("q", "k", "v"), mha.getInputList());
        assertEquals(List.of("MatMul", "MatMul", "MatMul", "MultiHeadAttention", "MatMul"), ops(r.model()),
                "the projections stay MatMuls; the heads' reshapes, the scores and the softmax are gone");
        assertTrue(r.model().getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals("com.microsoft")));
        assertSameOutput(model, r.model(), 1e-5);
    }

    @Test
    void anotherScaleIsWrittenOutAndAScaleSplitOverQAndKIsCombined() throws Exception {
        Attention other = new Attention(2);
        other.scale = 0.3;
        Onnx.NodeProto mha = node(AttentionFusion.fuse(other.build()).orElseThrow().model(), "MultiHeadAttention");
        assertEquals(0.3f, attribute(mha, "scale").orElseThrow().getF(), 1e-7);
        assertSameOutput(other.build(), AttentionFusion.fuse(other.build()).orElseThrow().model(), 1e-5);

        // torch's export of scaled_dot_product_attention: √scale on Q and on Kᵀ.
        Attention split = new Attention(4);
        split.splitScale = true;
        Onnx.ModelProto fused = AttentionFusion.fuse(split.build()).orElseThrow().model();
        assertTrue(attribute(node(fused, "MultiHeadAttention"), "scale").isEmpty(), "√s·√s = 1/√2, the default");
        assertSameOutput(split.build(), fused, 1e-5);

        Attention divided = new Attention(2);
        divided.divide = true;
        Onnx.ModelProto d = AttentionFusion.fuse(divided.build()).orElseThrow().model();
        assertTrue(attribute(node(d, "MultiHeadAttention"), "scale").isEmpty(), "Div by √d is the default scale");
        assertSameOutput(divided.build(), d, 1e-5);
    }

    @Test
    void crossAttentionTakesKeyAndValueFromTheContext() throws Exception {
        Attention cross = new Attention(2);
        cross.cross = true;
        Onnx.ModelProto fused = AttentionFusion.fuse(cross.build()).orElseThrow().model();
        assertEquals(1, AttentionFusion.fusedBlocks(fused));
        assertSameOutput(cross.build(), fused, 1e-5);
    }

    @Test
    void aMaskOnTheScoresAnIntermediateUsedElsewhereOrHeadsThatDisagreeAreLeftAlone() {
        Attention masked = new Attention(2);
        masked.mask = true;
        assertEquals(Optional.empty(), AttentionFusion.fuse(masked.build()), "CLIP's causal mask is not fused");

        Attention exposed = new Attention(2);
        exposed.exposeProbabilities = true;
        assertEquals(Optional.empty(), AttentionFusion.fuse(exposed.build()), "the probabilities are an output");

        Attention disagree = new Attention(2);
        disagree.keyHeads = 4;
        assertEquals(Optional.empty(), AttentionFusion.fuse(disagree.build()), "K split into 4 heads, Q into 2");

        Attention wrongWidth = new Attention(2);
        wrongWidth.mergeWidth = CHANNELS / 2;
        assertEquals(Optional.empty(), AttentionFusion.fuse(wrongWidth.build()),
                "a merge to another width than h·d is not the block's output");
    }

    @Test
    void theTinyConformanceUnetAndVaeGetEveryAttentionBlockFusedAndTheTextEncodersNone() {
        Onnx.ModelProto unet = UnetUpsamplers.read(TestData.tinyModel().resolve("unet/model.onnx"), "unet");
        long softmax = unet.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Softmax")).count();
        AttentionFusion.Result r = AttentionFusion.fuse(unet).orElseThrow();
        assertEquals(24, softmax, "the tiny UNet: 2 transformer levels of self- and cross-attention");
        assertEquals(softmax, r.fused());
        assertEquals(24, AttentionFusion.fusedBlocks(r.model()));
        assertFalse(ops(r.model()).contains("Softmax"));

        for (String vae : List.of("vae_decoder", "vae_encoder")) {
            Onnx.ModelProto m = UnetUpsamplers.read(TestData.tinyModel().resolve(vae + "/model.onnx"), vae);
            Onnx.ModelProto fused = AttentionFusion.fuse(m).orElseThrow().model();
            assertEquals(1, AttentionFusion.fusedBlocks(fused), vae + ": the mid block's single-head attention");
            assertEquals(1, attribute(node(fused, "MultiHeadAttention"), "num_heads").orElseThrow().getI());
        }
        Onnx.ModelProto text = UnetUpsamplers.read(TestData.tinyModel().resolve("text_encoder/model.onnx"), "te");
        assertEquals(Optional.empty(), AttentionFusion.fuse(text), "CLIP's masked attention stays as exported");
    }

    @Test
    void theFusedGraphHasItsOwnOptimizedModelCacheEntryAndOnlyTheUnetAndVaeAreFused(@org.junit.jupiter.api.io.TempDir
                                                                                    java.nio.file.Path cache) {
        java.nio.file.Path file = TestData.tinyModel().resolve("unet/model.onnx");
        io.sdxl4j.PipelineOptions fused = io.sdxl4j.PipelineOptions.builder().fusedAttention(true).build();
        io.sdxl4j.engine.ModelSource plain = ModelGraphs.source(file, "unet", List.of(UnetUpsamplers.REWRITE));
        List<GraphRewrite> rewrites = new ArrayList<>(List.of(UnetUpsamplers.REWRITE));
        rewrites.addAll(ModelGraphs.rewrites(fused, Component.UNET));
        io.sdxl4j.engine.ModelSource rewritten = ModelGraphs.source(file, "unet", rewrites);
        assertEquals(UnetUpsamplers.TAG + "+" + AttentionFusion.TAG, rewritten.tag());
        var store = new io.sdxl4j.engine.OptimizedModelCache(cache, "test");
        assertFalse(store.entry(plain, "unet").model().equals(store.entry(rewritten, "unet").model()),
                "fused and unfused graphs never share an entry");
        assertEquals(List.of(AttentionFusion.REWRITE), ModelGraphs.rewrites(fused, Component.VAE_DECODER));
        assertEquals(List.of(), ModelGraphs.rewrites(fused, Component.TEXT_ENCODER_2));
        assertEquals(List.of(), ModelGraphs.rewrites(io.sdxl4j.PipelineOptions.defaults(), Component.UNET),
                "off by default");
    }

    // ---- a hand-built attention block, as the synthetic SDXL and torch's SDPA export write it ----

    private static final class Attention {
        final int heads;
        int keyHeads;
        int mergeWidth = CHANNELS;
        double scale = Double.NaN;
        boolean splitScale;
        boolean divide;
        boolean cross;
        boolean mask;
        boolean exposeProbabilities;
        private final List<Onnx.NodeProto> nodes = new ArrayList<>();
        private final List<Onnx.TensorProto> inits = new ArrayList<>();
        private int counter;

        Attention(int heads) {
            this.heads = heads;
            this.keyHeads = heads;
        }

        Onnx.ModelProto build() {
            nodes.clear();
            inits.clear();
            Random random = new Random(7);
            int d = CHANNELS / heads;
            String kvIn = cross ? "context" : "x";
            matMul("x", weight("wq", random), "q");
            matMul(kvIn, weight("wk", random), "k");
            matMul(kvIn, weight("wv", random), "v");
            String qh = transpose(reshape("q", longs(0, -1, heads, d)), 0, 2, 1, 3);
            String kt = transpose(reshape("k", longs(0, -1, keyHeads, CHANNELS / keyHeads)), 0, 2, 3, 1);
            String vh = transpose(reshape("v", longs(0, -1, heads, d)), 0, 2, 1, 3);
            double s = Double.isNaN(scale) ? 1 / Math.sqrt(d) : scale;
            String scores;
            if (splitScale) {
                String root = scalar((float) Math.sqrt(s));
                scores = op("MatMul", op("Mul", qh, root), op("Mul", kt, root));
            } else if (divide) {
                scores = op("Div", op("MatMul", qh, kt), scalar((float) Math.sqrt(d)));
            } else {
                scores = op("Mul", op("MatMul", qh, kt), scalar((float) s));
            }
            if (mask) {
                scores = op("Add", scores, scalar(-1f));
            }
            String probs = op("Softmax", scores);
            String out = op("MatMul", probs, vh);
            String merged = reshape(transpose(out, 0, 2, 1, 3), longs(0, -1, mergeWidth));
            matMul(merged, weight("wo", random), "y");
            Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder().setName("attention").addAllNode(nodes)
                    .addAllInitializer(inits).addInput(value("x", TOKENS)).addOutput(value("y", TOKENS));
            if (cross) {
                g.addInput(value("context", CONTEXT));
            }
            if (exposeProbabilities) {
                g.addOutput(Onnx.ValueInfoProto.newBuilder().setName(probs));
            }
            return Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
        }

        private Onnx.ValueInfoProto value(String name, int tokens) {
            Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
            for (long dim : new long[] {BATCH, tokens, CHANNELS}) {
                shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(dim));
            }
            return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
        }

        private String weight(String name, Random random) {
            ByteBuffer raw = ByteBuffer.allocate(4 * CHANNELS * CHANNELS).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < CHANNELS * CHANNELS; i++) {
                raw.putFloat((float) random.nextGaussian());
            }
            inits.add(Onnx.TensorProto.newBuilder().setName(name).setDataType(1).addDims(CHANNELS).addDims(CHANNELS)
                    .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())).build());
            return name;
        }

        private String scalar(float v) {
            String name = "c" + counter++;
            ByteBuffer raw = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v);
            inits.add(Onnx.TensorProto.newBuilder().setName(name).setDataType(1)
                    .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())).build());
            return name;
        }

        private String longs(long... v) {
            String name = "s" + counter++;
            ByteBuffer raw = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (long l : v) {
                raw.putLong(l);
            }
            inits.add(Onnx.TensorProto.newBuilder().setName(name).setDataType(7).addDims(v.length)
                    .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())).build());
            return name;
        }

        private void matMul(String a, String b, String out) {
            nodes.add(Onnx.NodeProto.newBuilder().setOpType("MatMul").setName("/" + out + "/MatMul").addInput(a)
                    .addInput(b).addOutput(out).build());
        }

        private String op(String type, String... inputs) {
            String out = type + "_" + counter++;
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(type).setName("/attn/" + out)
                    .addOutput(out);
            for (String in : inputs) {
                n.addInput(in);
            }
            nodes.add(n.build());
            return out;
        }

        private String reshape(String x, String shape) {
            return op("Reshape", x, shape);
        }

        private String transpose(String x, long... perm) {
            String out = op("Transpose", x);
            int last = nodes.size() - 1;
            nodes.set(last, nodes.get(last).toBuilder().addAttribute(Onnx.AttributeProto.newBuilder().setName("perm")
                    .setType(Onnx.AttributeProto.AttributeType.INTS).addAllInts(toList(perm))).build());
            return out;
        }

        private static List<Long> toList(long[] v) {
            List<Long> out = new ArrayList<>();
            for (long l : v) {
                out.add(l);
            }
            return out;
        }
    }

    // Both graphs on ONNX Runtime's CPU with the same random inputs: the largest difference.
    private static void assertSameOutput(Onnx.ModelProto expected, Onnx.ModelProto actual, double tolerance)
            throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Random random = new Random(3);
        Map<String, float[]> inputs = new java.util.HashMap<>();
        for (Onnx.ValueInfoProto in : expected.getGraph().getInputList()) {
            int tokens = in.getName().equals("context") ? CONTEXT : TOKENS;
            float[] v = new float[BATCH * tokens * CHANNELS];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian();
            }
            inputs.put(in.getName(), v);
        }
        float[] a = run(env, expected, inputs);
        float[] b = run(env, actual, inputs);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        assertEquals(a.length, b.length);
        assertTrue(max <= tolerance, "largest difference " + max);
    }

    private static float[] run(OrtEnvironment env, Onnx.ModelProto model, Map<String, float[]> inputs)
            throws Exception {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model.toByteArray(), o)) {
            Map<String, OnnxTensor> tensors = new java.util.HashMap<>();
            try {
                for (var e : inputs.entrySet()) {
                    long tokens = e.getValue().length / (BATCH * CHANNELS);
                    tensors.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue()),
                            new long[] {BATCH, tokens, CHANNELS}));
                }
                try (OrtSession.Result r = s.run(tensors, java.util.Set.of("y"))) {
                    return ((OnnxTensor) r.get(0)).getFloatBuffer().array();
                }
            } finally {
                tensors.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static Onnx.NodeProto node(Onnx.ModelProto model, String op) {
        return model.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).findFirst().orElseThrow();
    }

    private static List<String> ops(Onnx.ModelProto model) {
        return model.getGraph().getNodeList().stream().map(Onnx.NodeProto::getOpType).toList();
    }

    private static Optional<Onnx.AttributeProto> attribute(Onnx.NodeProto n, String name) {
        return ElementTypes.attribute(n, name);
    }
}
