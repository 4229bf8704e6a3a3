// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import io.sdxl4j.adapter.TestFiles.T;
import io.sdxl4j.model.Component;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad adapter files and adapters that do not fit the model: each a clear error naming file and key. */
class AdapterErrorsTest {

    private static final Path UNET = TestData.tinyModel().resolve("unet/model.onnx");

    @TempDir
    Path dir;

    private Path lora(String name, String stem, long[] down, long[] up) {
        return TestFiles.safetensors(dir.resolve(name + ".safetensors"), TestFiles.map(
                stem + ".lora_down.weight", T.f32(new float[(int) (down[0] * down[1])], down),
                stem + ".lora_up.weight", T.f32(new float[(int) (up[0] * up[1])], up),
                stem + ".alpha", T.scalar(4f)));
    }

    private static SdxlException mergeFails(Path file, Component c, Path model) {
        try (AdapterFile a = AdapterFile.load(file)) {
            return assertThrows(SdxlException.class,
                    () -> AdapterMerge.merge(model, c, List.of(new AdapterMerge.Scaled(a, 1f))));
        }
    }

    @Test
    void aKeyForAModuleTheModelLacksNamesTheKeyTheFileAndTheComponent() {
        String stem = "lora_unet_input_blocks_7_1_proj_in"; // the tiny UNet has two down blocks
        Path file = lora("missing", stem, new long[] {4, 64}, new long[] {64, 4});
        SdxlException e = mergeFails(file, Component.UNET, UNET);
        assertTrue(e.getMessage().startsWith(file + ": key " + stem), e.getMessage());
        assertTrue(e.getMessage().contains("down_blocks_2_attentions_0_proj_in"), e.getMessage());
        assertTrue(e.getMessage().contains("unet/model.onnx has no weight"), e.getMessage());
    }

    @Test
    void aPeftKeyForAModuleTheModelLacksIsNamedToo() {
        Path file = TestFiles.safetensors(dir.resolve("peft.safetensors"), TestFiles.map(
                "unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", T.f32(new float[128], 4, 32),
                "unet.down_blocks.0.attentions.0.proj_in.lora_B.weight", T.f32(new float[128], 32, 4)));
        SdxlException e = mergeFails(file, Component.UNET, UNET);
        assertTrue(e.getMessage().startsWith(file + ": key unet.down_blocks.0.attentions.0.proj_in targets"
                + " down_blocks.0.attentions.0.proj_in"), e.getMessage());
    }

    @Test
    void aDeltaWhoseShapeDoesNotFitTheWeightNamesKeyShapesAndFile() {
        String stem = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"; // to_q is [64, 64]
        Path file = lora("shape", stem, new long[] {4, 32}, new long[] {64, 4});
        SdxlException e = mergeFails(file, Component.UNET, UNET);
        assertTrue(e.getMessage().startsWith(file + ": key " + stem), e.getMessage());
        assertTrue(e.getMessage().contains("ΔW [64, 32]) does not fit"), e.getMessage());
        assertTrue(e.getMessage().contains("[64, 64]"), e.getMessage());
    }

    @Test
    void aFileThatTargetsNothingOfTheModelIsAnError() {
        Path file = lora("te", "lora_te1_text_model_encoder_layers_0_self_attn_q_proj", new long[] {4, 32},
                new long[] {32, 4});
        try (AdapterFile a = AdapterFile.load(file)) {
            SdxlException e = assertThrows(SdxlException.class, () -> AdapterMerge.mergeAll(
                    Map.of(Component.UNET, UNET), List.of(new AdapterMerge.Scaled(a, 1f))));
            assertTrue(e.getMessage().startsWith(file + ": targets [TEXT_ENCODER], none of which the model has"),
                    e.getMessage());
        }
    }

    @Test
    void aFileWithoutAdapterKeysIsAnError() {
        Path file = TestFiles.safetensors(dir.resolve("empty.safetensors"), Map.of(), Map.of("a", "b"));
        SdxlException e = assertThrows(SdxlException.class, () -> AdapterFile.load(file));
        assertTrue(e.getMessage().startsWith(file + ": no adapter keys"), e.getMessage());
    }

    @Test
    void aKeyOfNoKnownLayoutIsNamed() {
        Path file = TestFiles.safetensors(dir.resolve("odd.safetensors"), TestFiles.map(
                "model.diffusion_model.input_blocks.1.0.weight", T.f32(new float[4], 4)));
        SdxlException e = assertThrows(SdxlException.class, () -> AdapterFile.load(file));
        assertTrue(e.getMessage().startsWith(file + ": key model.diffusion_model.input_blocks.1.0.weight"),
                e.getMessage());
        Path prefix = TestFiles.safetensors(dir.resolve("prefix.safetensors"), TestFiles.map(
                "transformer.blocks.0.attn.to_q.lora_A.weight", T.f32(new float[4], 1, 4)));
        SdxlException p = assertThrows(SdxlException.class, () -> AdapterFile.load(prefix));
        assertTrue(p.getMessage().contains("key transformer.blocks.0.attn.to_q.lora_A.weight names no SDXL component"),
                p.getMessage());
    }

    @Test
    void anIntegerFactorFailsNamingTheKeyAndItsDtype() {
        String stem = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q";
        Path file = TestFiles.safetensors(dir.resolve("i64.safetensors"), TestFiles.map(
                stem + ".lora_down.weight", new T("I64", new long[] {4, 64}, null, new byte[4 * 64 * 8]),
                stem + ".lora_up.weight", T.f32(new float[256], 64, 4)));
        SdxlException e = mergeFails(file, Component.UNET, UNET);
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("key " + stem + ".lora_down.weight is I64"), e.getMessage());
    }

    @Test
    void factorsOfDifferentRanksAreNamed() {
        String stem = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q";
        Path file = lora("ranks", stem, new long[] {4, 64}, new long[] {64, 8});
        SdxlException e = assertThrows(SdxlException.class, () -> AdapterFile.load(file));
        assertTrue(e.getMessage().startsWith(file + ": key " + stem + ".lora_up.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("ranks differ"), e.getMessage());
    }

    @Test
    void doraIsRefusedNamingTheKey() {
        String stem = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q";
        Path file = TestFiles.safetensors(dir.resolve("dora.safetensors"), TestFiles.map(
                stem + ".lora_down.weight", T.f32(new float[256], 4, 64),
                stem + ".lora_up.weight", T.f32(new float[256], 64, 4),
                stem + ".dora_scale", T.f32(new float[64], 1, 64)));
        SdxlException e = assertThrows(SdxlException.class, () -> AdapterFile.load(file));
        assertEquals(file + ": key " + stem + ".dora_scale: DoRA (weight-decomposed) adapters are not supported",
                e.getMessage());
    }

    @Test
    void aTruncatedAdapterFileIsNamed() throws IOException {
        byte[] good = Files.readAllBytes(ConformanceLoraTest.LORAS.resolve("tiny_unet_kohya.safetensors"));
        Path cut = TestFiles.write(dir.resolve("cut.safetensors"), Arrays.copyOf(good, good.length / 2));
        SdxlException e = assertThrows(SdxlException.class, () -> AdapterFile.load(cut));
        assertTrue(e.getMessage().startsWith(cut + ": key lora_unet_"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated or corrupt"), e.getMessage());
    }

    @Test
    void peftMetadataGivesAlphaPerModuleThroughItsPatterns() {
        String q = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q";
        String k = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k";
        Map<String, T> tensors = TestFiles.map(
                q + ".lora_A.weight", T.f32(new float[256], 4, 64), q + ".lora_B.weight", T.f32(new float[256], 64, 4),
                k + ".lora_A.weight", T.f32(new float[256], 4, 64), k + ".lora_B.weight", T.f32(new float[256], 64, 4));
        Path plain = TestFiles.safetensors(dir.resolve("meta.safetensors"), tensors, Map.of("lora_adapter_metadata",
                "{\"r\": 4, \"lora_alpha\": 8, \"alpha_pattern\": {\"attn1.to_k\": 2}}"));
        Path prefixed = TestFiles.safetensors(dir.resolve("meta2.safetensors"), tensors, Map.of("lora_adapter_metadata",
                "{\"unet.r\": 4, \"unet.lora_alpha\": 2, \"unet.use_rslora\": true}"));
        Path wrongRank = TestFiles.safetensors(dir.resolve("meta3.safetensors"), tensors, Map.of("lora_adapter_metadata",
                "{\"r\": 8, \"lora_alpha\": 8}"));
        try (AdapterFile a = AdapterFile.load(plain); AdapterFile b = AdapterFile.load(prefixed)) {
            assertEquals(2f, a.modules().get(0).delta().scale());
            assertEquals(0.5f, a.modules().get(1).delta().scale());
            assertEquals(1f, b.modules().get(0).delta().scale(), "rsLoRA: alpha / sqrt(r)");
        }
        SdxlException e = assertThrows(SdxlException.class, () -> AdapterFile.load(wrongRank));
        assertTrue(e.getMessage().contains("key " + q + ".lora_B.weight has rank 4 but lora_adapter_metadata says r = 8"),
                e.getMessage());
    }

    @Test
    void aSharedWeightIsNotMergedSilently(@TempDir Path d) {
        float[] w = TestFiles.random(16, 3);
        Path model = TestFiles.model(d.resolve("unet/model.onnx"), List.of(
                        TestFiles.node("MatMul", "/down_blocks.0/attentions.0/proj_in/MatMul", List.of("x", "onnx::MatMul_1"), "a"),
                        TestFiles.node("MatMul", "/down_blocks.0/attentions.0/proj_out/MatMul", List.of("a", "onnx::MatMul_1"), "b")),
                List.of(TestFiles.initializer("onnx::MatMul_1", w, false, 4, 4)), List.of(), List.of());
        Path file = lora("shared", "lora_unet_down_blocks_0_attentions_0_proj_in", new long[] {2, 4}, new long[] {4, 2});
        SdxlException e = mergeFails(file, Component.UNET, model);
        assertTrue(e.getMessage().contains("is shared with other nodes"), e.getMessage());
    }
}
