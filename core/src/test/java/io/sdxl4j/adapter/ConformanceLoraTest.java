// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.TestData;
import io.sdxl4j.model.Component;
import io.sdxl4j.tensor.HostTensor;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The conformance LoRA files against the tiny SDXL model. */
class ConformanceLoraTest {

    static final Path LORAS = TestData.conformance().resolve("loras");

    static Path onnx(Component c) {
        return TestData.tinyModel().resolve(c.folder()).resolve("model.onnx");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_unet_kohya", "tiny_unet_peft", "tiny_te_locon_kohya", "tiny_te_locon_peft"})
    void everyKeyOfTheFileMapsToAWeightOfTheTinyModelThatItFits(String name) {
        Path file = LORAS.resolve(name + ".safetensors");
        try (AdapterFile adapter = AdapterFile.load(file); SafeTensors st = SafeTensors.open(file)) {
            boolean kohya = name.endsWith("kohya");
            // kohya: down, up, alpha per module; PEFT: lora_A, lora_B. No key is left over.
            assertEquals(st.keys().size(), adapter.moduleCount() * (kohya ? 3 : 2));
            Set<String> nodes = new HashSet<>();
            for (Component c : adapter.components()) {
                OnnxModel model = OnnxModel.read(onnx(c), c.label());
                ModuleResolver resolver = new ModuleResolver(model, c);
                for (AdapterModule m : adapter.modules(c)) {
                    OnnxModel.Weight w = resolver.resolve(m, file);
                    assertTrue(m.delta().fits(w.torchShape()), m.stem() + " on " + w.node());
                    assertTrue(nodes.add(c + w.node()), "two keys on " + w.node());
                }
            }
            assertEquals(adapter.moduleCount(), nodes.size());
            Set<Component> expected = name.startsWith("tiny_unet") ? EnumSet.of(Component.UNET)
                    : EnumSet.of(Component.UNET, Component.TEXT_ENCODER, Component.TEXT_ENCODER_2);
            assertEquals(expected, adapter.components());
        }
    }

    @ParameterizedTest
    @CsvSource({
            "input_blocks_4_1_transformer_blocks_0_attn1_to_q, down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
            "input_blocks_4_1_transformer_blocks_0_attn1_to_out_0, down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0",
            "input_blocks_5_1_transformer_blocks_0_ff_net_0_proj, down_blocks.1.attentions.1.transformer_blocks.0.ff.net.0.proj",
            "input_blocks_5_1_proj_in, down_blocks.1.attentions.1.proj_in",
            "input_blocks_1_0_in_layers_2, down_blocks.0.resnets.0.conv1",
            "input_blocks_2_0_emb_layers_1, down_blocks.0.resnets.1.time_emb_proj",
            "input_blocks_3_0_op, down_blocks.0.downsamplers.0.conv",
            "input_blocks_4_0_skip_connection, down_blocks.1.resnets.0.conv_shortcut",
            "middle_block_1_proj_out, mid_block.attentions.0.proj_out",
            "middle_block_2_out_layers_3, mid_block.resnets.1.conv2",
            "output_blocks_0_1_transformer_blocks_1_attn2_to_q, up_blocks.0.attentions.0.transformer_blocks.1.attn2.to_q",
            "output_blocks_2_2_conv, up_blocks.0.upsamplers.0.conv",
            "output_blocks_5_0_out_layers_3, up_blocks.1.resnets.2.conv2",
            "output_blocks_1_0_in_layers_2, up_blocks.0.resnets.1.conv1",
    })
    void kohyaSgmBlockNamesResolveToDiffusersModules(String stem, String module) {
        OnnxModel model = OnnxModel.read(onnx(Component.UNET), "unet/model.onnx");
        AdapterModule m = new AdapterModule(Component.UNET, "lora_unet_" + stem, stem, true, null);
        assertEquals("unet." + module, new ModuleResolver(model, Component.UNET).resolve(m, Path.of("x")).module());
    }

    @Test
    void kohyaTextEncoderNamesResolveWithTheirUnderscoresTakenFromTheModel() {
        OnnxModel model = OnnxModel.read(onnx(Component.TEXT_ENCODER_2), "text_encoder_2/model.onnx");
        ModuleResolver r = new ModuleResolver(model, Component.TEXT_ENCODER_2);
        for (String[] c : new String[][] {
                {"text_model_encoder_layers_0_self_attn_q_proj", "model.text_model.encoder.layers.0.self_attn.q_proj"},
                {"text_model_encoder_layers_3_mlp_fc2", "model.text_model.encoder.layers.3.mlp.fc2"},
                {"text_projection", "model.text_projection"}}) {
            AdapterModule m = new AdapterModule(Component.TEXT_ENCODER_2, "lora_te2_" + c[0], c[0], true, null);
            assertEquals(c[1], r.resolve(m, Path.of("x")).module());
        }
    }

    @ParameterizedTest
    @CsvSource({"tiny_unet_kohya, tiny_unet_peft", "tiny_te_locon_kohya, tiny_te_locon_peft"})
    void theKohyaAndPeftFilesOfOneAdapterMergeToTheSameWeights(String kohya, String peft) {
        try (AdapterFile a = AdapterFile.load(LORAS.resolve(kohya + ".safetensors"));
             AdapterFile b = AdapterFile.load(LORAS.resolve(peft + ".safetensors"))) {
            assertEquals(a.components(), b.components());
            for (Component c : a.components()) {
                Map<String, HostTensor> fromKohya = AdapterMerge.merge(onnx(c), c, List.of(new AdapterMerge.Scaled(a, 0.8f)));
                Map<String, HostTensor> fromPeft = AdapterMerge.merge(onnx(c), c, List.of(new AdapterMerge.Scaled(b, 0.8f)));
                try {
                    assertEquals(new TreeSet<>(fromKohya.keySet()), new TreeSet<>(fromPeft.keySet()));
                    assertFalse(fromKohya.isEmpty());
                    for (String k : fromKohya.keySet()) {
                        assertArrayEquals(fromKohya.get(k).shape(), fromPeft.get(k).shape(), k);
                        assertArrayEquals(fromKohya.get(k).toFloatArray(), fromPeft.get(k).toFloatArray(), 2e-6f, k);
                    }
                } finally {
                    AdapterMerge.closeAll(fromKohya);
                    AdapterMerge.closeAll(fromPeft);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
            // file, component, key stem, node of the tiny export, scale
            "tiny_unet_kohya, UNET, lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q,"
                    + " /unet/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul, 0.8",
            "tiny_unet_kohya, UNET, lora_unet_output_blocks_2_1_transformer_blocks_0_attn1_to_out_0,"
                    + " /unet/up_blocks.0/attentions.2/transformer_blocks.0/attn1/to_out.0/MatMul, -1.5",
            "tiny_te_locon_kohya, UNET, lora_unet_input_blocks_1_0_in_layers_2, /unet/down_blocks.0/resnets.0/conv1/Conv, 1.0",
            "tiny_te_locon_kohya, UNET, lora_unet_input_blocks_2_0_emb_layers_1,"
                    + " /unet/down_blocks.0/resnets.1/time_emb_proj/Gemm, 0.7",
            "tiny_te_locon_kohya, TEXT_ENCODER_2, lora_te2_text_model_encoder_layers_1_mlp_fc1,"
                    + " /model/text_model/encoder/layers.1/mlp/fc1/MatMul, 1.0",
            "tiny_te_locon_kohya, TEXT_ENCODER, lora_te1_text_model_encoder_layers_3_mlp_fc2,"
                    + " /model/text_model/encoder/layers.3/mlp/fc2/MatMul, 0.5",
    })
    void mergedWeightsAreTheOriginalPlusTheScaledDeltaComputedIndependently(String file, Component component,
                                                                           String stem, String node, float scale) {
        Path adapterFile = LORAS.resolve(file + ".safetensors");
        Path model = onnx(component);
        String initializer = TestFiles.weightOf(model, node);
        float[] w = TestFiles.initializerValues(model, initializer);
        float[] up = TestFiles.safetensorsF32(adapterFile, stem + ".lora_up.weight");
        float[] down = TestFiles.safetensorsF32(adapterFile, stem + ".lora_down.weight");
        float alpha = TestFiles.safetensorsF32(adapterFile, stem + ".alpha")[0];
        int rank = 4; // every module of these files
        int out = up.length / rank;
        int in = down.length / rank; // in · kh · kw for a convolution
        boolean transposed = node.endsWith("/MatMul"); // MatMul keeps W^T [in, out]
        float[] expected = w.clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < rank; k++) {
                    d += (double) up[o * rank + k] * down[k * in + i];
                }
                int at = transposed ? i * out + o : o * in + i;
                expected[at] += (float) (scale * alpha / rank * d);
            }
        }
        try (AdapterFile adapter = AdapterFile.load(adapterFile)) {
            Map<String, HostTensor> merged = AdapterMerge.merge(model, component,
                    List.of(new AdapterMerge.Scaled(adapter, scale)));
            try {
                HostTensor t = merged.get(initializer);
                assertArrayEquals(expected, t.toFloatArray(), 1e-5f);
                assertFalse(java.util.Arrays.equals(w, t.toFloatArray()), "the adapter changes the weight");
            } finally {
                AdapterMerge.closeAll(merged);
            }
        }
    }

    @Test
    void twoAdaptersOnOneWeightAddTheirScaledDeltas() {
        try (AdapterFile a = AdapterFile.load(LORAS.resolve("tiny_unet_kohya.safetensors"));
             AdapterFile b = AdapterFile.load(LORAS.resolve("tiny_te_locon_peft.safetensors"))) {
            Path model = onnx(Component.UNET);
            Map<String, HostTensor> first = AdapterMerge.merge(model, Component.UNET, List.of(new AdapterMerge.Scaled(a, 0.8f)));
            Map<String, HostTensor> second = AdapterMerge.merge(model, Component.UNET, List.of(new AdapterMerge.Scaled(b, 0.5f)));
            Map<String, HostTensor> both = AdapterMerge.merge(model, Component.UNET,
                    List.of(new AdapterMerge.Scaled(a, 0.8f), new AdapterMerge.Scaled(b, 0.5f)));
            try {
                Set<String> shared = new TreeSet<>(first.keySet());
                shared.retainAll(second.keySet());
                assertFalse(shared.isEmpty(), "the two adapters share weights (attn1.to_q, to_v)");
                Set<String> union = new TreeSet<>(first.keySet());
                union.addAll(second.keySet());
                assertEquals(union, new TreeSet<>(both.keySet()));
                for (String k : union) {
                    float[] expected;
                    if (shared.contains(k)) {
                        float[] w = TestFiles.initializerValues(model, k);
                        float[] x = first.get(k).toFloatArray();
                        float[] y = second.get(k).toFloatArray();
                        expected = new float[w.length];
                        for (int i = 0; i < w.length; i++) {
                            expected[i] = x[i] + y[i] - w[i];
                        }
                    } else {
                        expected = (first.containsKey(k) ? first : second).get(k).toFloatArray();
                    }
                    assertArrayEquals(expected, both.get(k).toFloatArray(), 1e-5f, k);
                }
            } finally {
                AdapterMerge.closeAll(first);
                AdapterMerge.closeAll(second);
                AdapterMerge.closeAll(both);
            }
        }
    }

    @Test
    void mergeAllGivesEachComponentItsOwnWeights() {
        try (AdapterFile a = AdapterFile.load(LORAS.resolve("tiny_te_locon_kohya.safetensors"))) {
            Map<Component, Path> files = new TreeMap<>();
            for (Component c : List.of(Component.UNET, Component.TEXT_ENCODER, Component.TEXT_ENCODER_2,
                    Component.VAE_DECODER)) {
                files.put(c, onnx(c));
            }
            Map<Component, Map<String, HostTensor>> all = AdapterMerge.mergeAll(files,
                    List.of(new AdapterMerge.Scaled(a, 1f)));
            try {
                assertEquals(EnumSet.of(Component.UNET, Component.TEXT_ENCODER, Component.TEXT_ENCODER_2), all.keySet());
                assertEquals(a.modules(Component.TEXT_ENCODER).size(), all.get(Component.TEXT_ENCODER).size());
                assertEquals(a.modules(Component.UNET).size(), all.get(Component.UNET).size());
            } finally {
                all.values().forEach(AdapterMerge::closeAll);
            }
        }
    }
}
