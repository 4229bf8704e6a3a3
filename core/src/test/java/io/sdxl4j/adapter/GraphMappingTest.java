// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.adapter.TestFiles.T;
import io.sdxl4j.model.Component;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Key mapping and merging on small graphs written as optimum writes real exports: node names
 * without a wrapper prefix ({@code /down_blocks.0/…/to_q/MatMul}), a repeated container segment,
 * Gemm with and without {@code transB}, a MatMul over an explicit Transpose, float16 weights,
 * external data, and a text encoder without transformers' {@code text_model} level.
 */
class GraphMappingTest {

    @TempDir
    Path dir;

    /** One weight of the test UNet: node, initializer, dims as stored, layout. */
    private record W(String node, String init, long[] dims, OnnxModel.Layout layout, String kohya, String peft) {
        int count() {
            int n = 1;
            for (long d : dims) {
                n *= (int) d;
            }
            return n;
        }

        /** torch [out, in·k] sizes. */
        int out() {
            return (int) (layout == OnnxModel.Layout.IN_OUT ? dims[1] : dims[0]);
        }

        int in() {
            return count() / out();
        }
    }

    private static final List<W> UNET = List.of(
            new W("/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul", "onnx::MatMul_101",
                    new long[] {8, 6}, OnnxModel.Layout.IN_OUT,
                    "lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q",
                    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"),
            new W("/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_out/to_out.0/MatMul", "onnx::MatMul_102",
                    new long[] {6, 8}, OnnxModel.Layout.IN_OUT,
                    "lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_out_0",
                    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0"),
            new W("/down_blocks.0/attentions.0/proj_in/MatMul", "down_blocks.0.attentions.0.proj_in.weight",
                    new long[] {6, 8}, OnnxModel.Layout.OUT_IN,
                    "lora_unet_input_blocks_1_1_proj_in", "unet.down_blocks.0.attentions.0.proj_in"),
            new W("/down_blocks.0/resnets.0/time_emb_proj/Gemm", "down_blocks.0.resnets.0.time_emb_proj.weight",
                    new long[] {8, 16}, OnnxModel.Layout.OUT_IN,
                    "lora_unet_input_blocks_1_0_emb_layers_1", "unet.down_blocks.0.resnets.0.time_emb_proj"),
            new W("/time_embedding/linear_1/Gemm", "time_embedding.linear_1.weight",
                    new long[] {4, 16}, OnnxModel.Layout.IN_OUT,
                    "lora_unet_time_embed_0", "unet.time_embedding.linear_1"),
            new W("/down_blocks.0/resnets.0/conv1/Conv", "down_blocks.0.resnets.0.conv1.weight",
                    new long[] {8, 4, 3, 3}, OnnxModel.Layout.CONV,
                    "lora_unet_input_blocks_1_0_in_layers_2", "unet.down_blocks.0.resnets.0.conv1"),
            new W("/down_blocks.0/resnets.1/conv1/Conv", "down_blocks.0.resnets.1.conv1.weight",
                    new long[] {8, 8, 3, 3}, OnnxModel.Layout.CONV,
                    "lora_unet_input_blocks_2_0_in_layers_2", "unet.down_blocks.0.resnets.1.conv1"));

    private Path unet(boolean fp16, boolean externalToQ) {
        List<Onnx.NodeProto> nodes = new ArrayList<>();
        List<Onnx.TensorProto> inits = new ArrayList<>();
        ByteBuffer external = ByteBuffer.allocate(64 + 4 * 48).order(ByteOrder.LITTLE_ENDIAN);
        int seed = 100;
        for (W w : UNET) {
            float[] values = TestFiles.random(w.count(), seed++);
            if (w.layout() == OnnxModel.Layout.OUT_IN && w.node().endsWith("MatMul")) {
                String t = w.node().replace("MatMul", "Transpose");
                nodes.add(TestFiles.node("Transpose", t, List.of(w.init()), t + "_output_0", "perm", new long[] {1, 0}));
                nodes.add(TestFiles.node("MatMul", w.node(), List.of("h", t + "_output_0"), w.node() + "_output_0"));
            } else if (w.node().endsWith("Gemm")) {
                nodes.add(TestFiles.node("Gemm", w.node(), List.of("e", w.init()), w.node() + "_output_0",
                        "transB", w.layout() == OnnxModel.Layout.OUT_IN ? 1L : 0L));
            } else {
                String op = w.node().substring(w.node().lastIndexOf('/') + 1);
                nodes.add(TestFiles.node(op, w.node(), List.of("h", w.init()), w.node() + "_output_0"));
            }
            if (externalToQ && w.init().equals("onnx::MatMul_101")) {
                external.position(64);
                for (float v : values) {
                    external.putFloat(v);
                }
                inits.add(TestFiles.externalInitializer(w.init(), "model.onnx_data", 64, values.length, w.dims()));
            } else {
                inits.add(TestFiles.initializer(w.init(), values, fp16, w.dims()));
            }
        }
        // Attention scores: a MatMul of two activations has no weight.
        nodes.add(TestFiles.node("MatMul", "/down_blocks.0/attentions.0/transformer_blocks.0/attn1/MatMul",
                List.of("q", "k"), "scores"));
        Path folder = dir.resolve((fp16 ? "fp16" : "fp32") + (externalToQ ? "-ext" : "")).resolve("unet");
        if (externalToQ) {
            TestFiles.write(folder.resolve("model.onnx_data"), external.array());
        }
        return TestFiles.model(folder.resolve("model.onnx"), nodes, inits, List.of(), List.of());
    }

    @Test
    void modulePathsDropTheOpFoldRepeatedContainersAndKeepWrappers() {
        assertEquals("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
                OnnxModel.modulePath("/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul"));
        assertEquals("unet.up_blocks.0.attentions.2.transformer_blocks.0.attn1.to_out.0",
                OnnxModel.modulePath("/unet/up_blocks.0/attentions.2/transformer_blocks.0/attn1/to_out/to_out.0/MatMul"));
        assertEquals("ff.net.0.proj", OnnxModel.modulePath("/ff/net.0/proj/MatMul_1"));
        assertEquals("", OnnxModel.modulePath("MatMul_12"));
    }

    @Test
    void findsEachWeightWithItsLayoutAndNoneForActivationProducts() {
        OnnxModel m = OnnxModel.read(unet(false, false), "unet/model.onnx");
        assertEquals(UNET.size(), m.weights().size());
        for (int i = 0; i < UNET.size(); i++) {
            W w = UNET.get(i);
            OnnxModel.Weight found = m.weights().stream().filter(x -> x.node().equals(w.node())).findFirst().orElseThrow();
            assertEquals(w.layout(), found.layout(), w.node());
            assertEquals(w.init(), found.initializer(), w.node());
            assertArrayEquals(new long[] {w.out(), w.in()}, new long[] {found.torchShape()[0],
                    found.elementCount() / found.torchShape()[0]}, w.node());
        }
        assertEquals(2, m.layersPerBlock(7));
    }

    private Path adapter(String name, boolean kohya, int rank) {
        Map<String, T> tensors = new LinkedHashMap<>();
        int seed = 500;
        for (W w : UNET) {
            String stem = kohya ? w.kohya() : w.peft();
            boolean conv = w.layout() == OnnxModel.Layout.CONV;
            long kh = conv ? w.dims()[2] : 1;
            long in = conv ? w.dims()[1] : w.in();
            float[] down = TestFiles.random((int) (rank * in * kh * kh), seed++);
            float[] up = TestFiles.random(w.out() * rank, seed++);
            long[] downShape = conv ? new long[] {rank, in, kh, kh} : new long[] {rank, in};
            long[] upShape = conv ? new long[] {w.out(), rank, 1, 1} : new long[] {w.out(), rank};
            if (kohya) {
                tensors.put(stem + ".lora_down.weight", T.f32(down, downShape));
                tensors.put(stem + ".lora_up.weight", T.f32(up, upShape));
                tensors.put(stem + ".alpha", T.scalar(rank / 2f));
            } else {
                // PEFT: the kohya alpha / rank folded into lora_B, with the .default infix some files have.
                for (int i = 0; i < up.length; i++) {
                    up[i] *= 0.5f;
                }
                tensors.put(stem + ".lora_A.default.weight", T.f32(down, downShape));
                tensors.put(stem + ".lora_B.default.weight", T.f32(up, upShape));
            }
        }
        return TestFiles.safetensors(dir.resolve(name + ".safetensors"), tensors);
    }

    /** W + scale · alpha/r · up @ down, laid out as the initializer stores it, computed here. */
    private static float[] expected(Path model, Path kohyaFile, W w, float scale, int rank) {
        float[] weights = TestFiles.initializerValues(model, w.init());
        float[] up = TestFiles.safetensorsF32(kohyaFile, w.kohya() + ".lora_up.weight");
        float[] down = TestFiles.safetensorsF32(kohyaFile, w.kohya() + ".lora_down.weight");
        float alpha = TestFiles.safetensorsF32(kohyaFile, w.kohya() + ".alpha")[0];
        int out = w.out();
        int in = w.in();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < rank; k++) {
                    d += (double) up[o * rank + k] * down[k * in + i];
                }
                int at = w.layout() == OnnxModel.Layout.IN_OUT ? i * out + o : o * in + i;
                weights[at] += (float) (scale * alpha / rank * d);
            }
        }
        return weights;
    }

    @Test
    void kohyaAndPeftKeysMergeIntoAGraphWithoutWrapperPrefix() {
        Path model = unet(false, false);
        Path kohya = adapter("kohya", true, 2);
        Path peft = adapter("peft", false, 2);
        try (AdapterFile a = AdapterFile.load(kohya); AdapterFile b = AdapterFile.load(peft)) {
            Map<String, HostTensor> fromKohya = AdapterMerge.merge(model, Component.UNET, List.of(new AdapterMerge.Scaled(a, 0.75f)));
            Map<String, HostTensor> fromPeft = AdapterMerge.merge(model, Component.UNET, List.of(new AdapterMerge.Scaled(b, 0.75f)));
            try {
                assertEquals(UNET.size(), fromKohya.size());
                for (W w : UNET) {
                    float[] want = expected(model, kohya, w, 0.75f, 2);
                    assertArrayEquals(want, fromKohya.get(w.init()).toFloatArray(), 1e-5f, w.node());
                    assertArrayEquals(want, fromPeft.get(w.init()).toFloatArray(), 1e-5f, w.node());
                    assertArrayEquals(w.dims(), fromKohya.get(w.init()).shape(), w.node());
                }
            } finally {
                AdapterMerge.closeAll(fromKohya);
                AdapterMerge.closeAll(fromPeft);
            }
        }
    }

    @Test
    void float16WeightsMergeInFloat32AndComeBackAsFloat16() {
        Path model = unet(true, false);
        Path kohya = adapter("kohya16", true, 2);
        try (AdapterFile a = AdapterFile.load(kohya)) {
            Map<String, HostTensor> merged = AdapterMerge.merge(model, Component.UNET, List.of(new AdapterMerge.Scaled(a, 1f)));
            try {
                for (W w : UNET) {
                    HostTensor t = merged.get(w.init());
                    assertEquals(DataType.FLOAT16, t.dataType(), w.node());
                    assertArrayEquals(w.dims(), t.shape());
                    float[] want = expected(model, kohya, w, 1f, 2);
                    for (int i = 0; i < want.length; i++) {
                        float got = Float.float16ToFloat(t.halfBuffer().get(i));
                        float rounded = Float.float16ToFloat(Float.floatToFloat16(want[i]));
                        // One float16 step at most between rounding the float32 sum here and there.
                        assertEquals(rounded, got, Math.ulp(Float.float16ToFloat(Float.floatToFloat16(rounded))) * 1.01f,
                                w.node() + " [" + i + "]");
                    }
                }
            } finally {
                AdapterMerge.closeAll(merged);
            }
        }
    }

    @Test
    void externalDataIsReadAtItsOffset() {
        Path model = unet(false, true);
        Path kohya = adapter("kohyaExt", true, 2);
        W toQ = UNET.get(0);
        try (AdapterFile a = AdapterFile.load(kohya)) {
            Map<String, HostTensor> merged = AdapterMerge.merge(model, Component.UNET, List.of(new AdapterMerge.Scaled(a, 1f)));
            try {
                float[] original = TestFiles.random(toQ.count(), 100); // what unet() wrote at offset 64
                float[] want = original.clone();
                float[] up = TestFiles.safetensorsF32(kohya, toQ.kohya() + ".lora_up.weight");
                float[] down = TestFiles.safetensorsF32(kohya, toQ.kohya() + ".lora_down.weight");
                for (int o = 0; o < 6; o++) {
                    for (int i = 0; i < 8; i++) {
                        want[i * 6 + o] += 0.5f * (up[o * 2] * down[i] + up[o * 2 + 1] * down[8 + i]);
                    }
                }
                assertArrayEquals(want, merged.get(toQ.init()).toFloatArray(), 1e-5f);
            } finally {
                AdapterMerge.closeAll(merged);
            }
        }
    }

    @Test
    void textEncoderKeysMapWithOrWithoutTheTextModelLevel() {
        float[] q = TestFiles.random(4 * 4, 1);
        Path folder = dir.resolve("te");
        Path model = TestFiles.model(folder.resolve("model.onnx"), List.of(
                        TestFiles.node("Gather", "/embeddings/token_embedding/Gather",
                                List.of("embeddings.token_embedding.weight", "input_ids"), "emb"),
                        TestFiles.node("MatMul", "/encoder/layers.0/self_attn/q_proj/MatMul", List.of("emb", "onnx::MatMul_7"),
                                "q")),
                List.of(TestFiles.initializer("embeddings.token_embedding.weight", TestFiles.random(10 * 4, 2), false, 10, 4),
                        TestFiles.initializer("onnx::MatMul_7", q, false, 4, 4)),
                List.of(TestFiles.value("input_ids", Onnx.TensorProto.DataType.INT64_VALUE, 1, 3)), List.of());
        OnnxModel m = OnnxModel.read(model, "text_encoder/model.onnx");
        assertEquals("embeddings.token_embedding.weight", m.tokenEmbedding().orElseThrow().initializer());
        assertEquals(10, m.tokenEmbedding().orElseThrow().rows());
        ModuleResolver r = new ModuleResolver(m, Component.TEXT_ENCODER);
        AdapterModule kohya = new AdapterModule(Component.TEXT_ENCODER, "lora_te1_text_model_encoder_layers_0_self_attn_q_proj",
                "text_model_encoder_layers_0_self_attn_q_proj", true, null);
        AdapterModule peft = new AdapterModule(Component.TEXT_ENCODER, "text_encoder.text_model.encoder.layers.0.self_attn.q_proj",
                "text_model.encoder.layers.0.self_attn.q_proj", false, null);
        assertEquals("onnx::MatMul_7", r.resolve(kohya, Path.of("a")).initializer());
        assertEquals("onnx::MatMul_7", r.resolve(peft, Path.of("b")).initializer());
        assertTrue(m.byDottedSuffix("layers.0.self_attn.q_proj").size() == 1);
    }
}
