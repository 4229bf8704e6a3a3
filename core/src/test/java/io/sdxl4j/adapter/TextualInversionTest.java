// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import io.sdxl4j.adapter.TestFiles.T;
import io.sdxl4j.model.Component;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.text.ClipTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextualInversionTest {

    static final Path EMBEDDINGS = TestData.conformance().resolve("embeddings");

    static ClipTokenizer tokenizer(Component c) {
        return ClipTokenizer.load(TestData.tinyModel().resolve(c == Component.TEXT_ENCODER ? "tokenizer" : "tokenizer_2"));
    }

    static JsonNode tiCase() {
        for (JsonNode c : TestData.json(TestData.conformance().resolve("cases.json")).get("cases")) {
            if (c.get("id").asText().equals("ti_two_vectors")) {
                return c;
            }
        }
        throw new IllegalStateException("no case ti_two_vectors");
    }

    /** The case's embeddings, loaded in its order into the tiny model's tokenizers. */
    static TextualInversion tiTwoVectors() {
        JsonNode c = tiCase();
        List<TextualInversion.Embedding> list = new java.util.ArrayList<>();
        for (JsonNode e : c.get("embeddings")) {
            list.add(TextualInversion.load(TestData.conformance().resolve(e.get("file").asText()), e.get("token").asText()));
        }
        return TextualInversion.apply(list, tokenizer(Component.TEXT_ENCODER), tokenizer(Component.TEXT_ENCODER_2));
    }

    @Test
    void theConvertedPromptAndIdsOfTiTwoVectorsAreDiffusers() {
        JsonNode c = tiCase();
        TextualInversion ti = tiTwoVectors();
        String prompt = c.get("prompt").asText();
        for (Component comp : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
            JsonNode ref = c.get("token_ids").get(comp == Component.TEXT_ENCODER ? "tokenizer" : "tokenizer_2");
            assertEquals(ref.get("converted_prompt").asText(), ti.convertPrompt(comp, prompt));
            long[] want = new long[ref.get("input_ids").size()];
            for (int i = 0; i < want.length; i++) {
                want[i] = ref.get("input_ids").get(i).asLong();
            }
            assertArrayEquals(want, ti.encodePadded(comp, prompt), comp.toString());
        }
        // The negative prompt goes through the same conversion, unchanged without the token.
        assertEquals("blurry", ti.convertPrompt(Component.TEXT_ENCODER, "blurry"));
    }

    @Test
    void eachVectorGetsATokenWithTheNextIdInLoadingOrder() {
        TextualInversion.Embedding style = TextualInversion.load(EMBEDDINGS.resolve("tiny_style_2vec.safetensors"), "<s>");
        TextualInversion.Embedding subject = TextualInversion.load(EMBEDDINGS.resolve("tiny_subject_1vec.safetensors"),
                "<subject>");
        TextualInversion ti = TextualInversion.apply(List.of(subject, style), tokenizer(Component.TEXT_ENCODER),
                tokenizer(Component.TEXT_ENCODER_2));
        assertEquals(Map.of("<subject>", 49408, "<s>", 49409, "<s>_1", 49410),
                ti.tokenizer(Component.TEXT_ENCODER_2).addedTokens());
        assertEquals(49411, ti.tokenizer(Component.TEXT_ENCODER).size());
        assertEquals("<s> <s>_1 and <subject>, <s> <s>_1",
                ti.convertPrompt(Component.TEXT_ENCODER, "<s> and <subject>, <s>"));
    }

    @Test
    void theGrownTokenEmbeddingKeepsTheVocabularyRowsAndAppendsTheVectors() {
        TextualInversion ti = tiTwoVectors();
        Path te = TestData.tinyModel().resolve("text_encoder/model.onnx");
        Map<String, HostTensor> init = ti.initializers(te, Component.TEXT_ENCODER);
        try {
            assertEquals(1, init.size());
            String name = init.keySet().iterator().next();
            HostTensor t = init.get(name);
            assertArrayEquals(new long[] {49410, 32}, t.shape());
            float[] grown = t.toFloatArray();
            float[] original = TestFiles.initializerValues(te, name);
            assertEquals(49408 * 32, original.length);
            assertArrayEquals(original, Arrays.copyOf(grown, original.length));
            float[] vectors = TestFiles.safetensorsF32(EMBEDDINGS.resolve("tiny_style_2vec.safetensors"), "clip_l");
            assertArrayEquals(vectors, Arrays.copyOfRange(grown, 49408 * 32, 49410 * 32));
        } finally {
            AdapterMerge.closeAll(init);
        }
    }

    @Test
    void replicatePtiFilesGiveOneTokenPerRowAndReplaceTheirTrigger(@TempDir Path dir) {
        Path pti = TestFiles.safetensors(dir.resolve("embeddings.pti"), TestFiles.map(
                "text_encoders_0", T.f32(TestFiles.random(64, 1), 2, 32),
                "text_encoders_1", T.f32(TestFiles.random(64, 2), 2, 32)));
        TextualInversion ti = TextualInversion.apply(List.of(TextualInversion.load(pti, "TOK")),
                tokenizer(Component.TEXT_ENCODER), tokenizer(Component.TEXT_ENCODER_2));
        assertEquals(Map.of("<s0>", 49408, "<s1>", 49409), ti.tokenizer(Component.TEXT_ENCODER).addedTokens());
        assertEquals("a photo of <s0><s1>", ti.convertPrompt(Component.TEXT_ENCODER_2, "a photo of TOK"));
        long[] ids = ti.encodePadded(Component.TEXT_ENCODER, "a photo of TOK");
        assertArrayEquals(new long[] {49406, 320, 1125, 539, 49408, 49409, 49407}, Arrays.copyOf(ids, 7));
    }

    @Test
    void aTokenAlreadyInTheVocabularyIsAnErrorNamingFileAndToken() {
        Path file = EMBEDDINGS.resolve("tiny_subject_1vec.safetensors");
        TextualInversion.Embedding e = TextualInversion.load(file, "photo</w>");
        SdxlException ex = assertThrows(SdxlException.class, () -> TextualInversion.apply(List.of(e),
                tokenizer(Component.TEXT_ENCODER), tokenizer(Component.TEXT_ENCODER_2)));
        assertTrue(ex.getMessage().startsWith(file + ": token [photo</w>]"), ex.getMessage());
        assertTrue(ex.getMessage().contains("already in the tokenizer's vocabulary"), ex.getMessage());
    }

    @Test
    void aFileWithoutSdxlKeysIsNamedWithItsKeys(@TempDir Path dir) {
        Path file = TestFiles.safetensors(dir.resolve("sd15.safetensors"), TestFiles.map(
                "emb_params", T.f32(new float[768], 1, 768)));
        SdxlException e = assertThrows(SdxlException.class, () -> TextualInversion.load(file, "<x>"));
        assertTrue(e.getMessage().startsWith(file + ": no SDXL embedding"), e.getMessage());
        assertTrue(e.getMessage().contains("SD 1.x"), e.getMessage());
    }

    @Test
    void vectorsOfTheWrongWidthNameTheFileAndKey(@TempDir Path dir) {
        Path file = TestFiles.safetensors(dir.resolve("wide.safetensors"), TestFiles.map(
                "clip_l", T.f32(new float[768], 1, 768), "clip_g", T.f32(new float[1280], 1, 1280)));
        TextualInversion ti = TextualInversion.apply(List.of(TextualInversion.load(file, "<w>")),
                tokenizer(Component.TEXT_ENCODER), tokenizer(Component.TEXT_ENCODER_2));
        SdxlException e = assertThrows(SdxlException.class, () -> ti.initializers(
                TestData.tinyModel().resolve("text_encoder/model.onnx"), Component.TEXT_ENCODER));
        assertTrue(e.getMessage().startsWith(file + ": key clip_l has vectors of width 768"), e.getMessage());
    }
}
