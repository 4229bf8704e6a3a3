// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.Embedding;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Lora;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.PromptMode;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapters as users give them to the pipeline: files, names in the LoRA folder, prompt tags, variants. */
class PipelineAdaptersTest {

    private static final Path LORAS = TestData.conformance().resolve("loras").toAbsolutePath();
    private static final Path UNET_LORA = LORAS.resolve("tiny_unet_kohya.safetensors");
    private static final Path EMBEDDING = TestData.conformance().resolve("embeddings/tiny_style_2vec.safetensors")
            .toAbsolutePath();
    private static SdxlPipeline pipeline;

    @BeforeAll
    static void load() {
        pipeline = SdxlPipeline.load(TestData.tinyModel(), PipelineOptions.builder().loraDirectory(LORAS).build());
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    private static GenerationRequest.Builder quick(String prompt) {
        return GenerationRequest.builder(prompt).negativePrompt("blurry").steps(3).seed(5);
    }

    private static float[] pixels(GenerationRequest r) {
        return pipeline.generate(r).image().pixels();
    }

    @Test
    void anAdapterSetOpensOnceAndIsKeptUntilAnotherSetNeedsItsPlace() {
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel(), PipelineOptions.builder().maxAdapterSets(2)
                .build())) {
            float[] plain = p.generate(quick("a fox").build()).image().pixels();
            long plainEstimate = p.estimatePeakMemory(quick("a fox").build());
            long variant = p.estimatePeakMemory(quick("a fox").lora(UNET_LORA, 0.8).build()) - plainEstimate;
            assertTrue(variant > 0, "a set not open yet counts the variant it would open");
            assertEquals(0, p.adapterMemory());
            float[] first = p.generate(quick("a fox").lora(UNET_LORA, 0.8).build()).image().pixels();
            assertEquals(variant, p.adapterMemory(), "the open set is held");
            assertEquals(plainEstimate, p.estimatePeakMemory(quick("a fox").lora(UNET_LORA, 0.8).build()),
                    "an open set costs nothing more");
            float[] again = p.generate(quick("a fox").lora(UNET_LORA, 0.8).build()).image().pixels();
            assertEquals(1, p.adapterSetsOpened(), "the same set is merged and opened once");
            assertArrayEquals(first, again);
            assertFalse(Arrays.equals(plain, first), "the adapter changes the image");
            assertArrayEquals(plain, p.generate(quick("a fox").build()).image().pixels(), "the plain model is intact");
            p.generate(quick("a fox").lora(UNET_LORA, 0.4).build());
            assertEquals(2, p.adapterSetsOpened(), "another scale is another set");
            p.generate(quick("a fox").lora(UNET_LORA, 0.8).build());
            assertEquals(2, p.adapterSetsOpened(), "two sets are kept");
            assertEquals(2 * variant, p.adapterMemory());
            assertEquals(plainEstimate, p.estimatePeakMemory(quick("a fox").lora(UNET_LORA, 0.2).build()),
                    "at the bound, a new set replaces one: the held memory does not grow");
            p.generate(quick("a fox").lora(UNET_LORA, 0.2).build());
            assertEquals(3, p.adapterSetsOpened(), "a third set closes the least recently used (0.4)");
            assertArrayEquals(first, p.generate(quick("a fox").lora(UNET_LORA, 0.8).build()).image().pixels());
            assertEquals(3, p.adapterSetsOpened(), "0.8 was used more recently and stayed");
        }
    }

    @Test
    void aNameIsFoundInTheLoraFolderAndAnA1111TagMeansTheSame() {
        float[] byPath = pixels(quick("a fox").lora(UNET_LORA, 0.8).promptMode(PromptMode.A1111).build());
        assertArrayEquals(byPath, pixels(quick("a fox").lora(Lora.named("tiny_unet_kohya", 0.8))
                .promptMode(PromptMode.A1111).build()));
        assertArrayEquals(byPath, pixels(quick("a fox <lora:tiny_unet_kohya:0.8>").promptMode(PromptMode.A1111)
                .build()), "the tag is taken out of the prompt and names the adapter");
        GenerationRequest tagged = quick("a fox <lora:tiny_unet_kohya:0.8>").promptMode(PromptMode.A1111).build();
        assertTrue(pipeline.generate(tagged).image().parameters().contains("Lora: tiny_unet_kohya:0.8"));
    }

    @Test
    void aMissingOrBadAdapterNamesItsFieldAndThePipelineStaysUsable(@TempDir Path dir) throws IOException {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(quick("a fox").lora(Lora.named("nonesuch", 1)).build()));
        assertEquals("loras", e.field());
        try (SdxlPipeline noFolder = SdxlPipeline.load(TestData.tinyModel())) {
            e = assertThrows(InvalidRequestException.class,
                    () -> noFolder.check(quick("a fox").lora(Lora.named("tiny_unet_kohya", 1)).build()));
            assertEquals("loras", e.field());
            assertTrue(e.reason().contains("no LoRA folder"), e.reason());
        }
        Path truncated = dir.resolve("cut.safetensors");
        Files.write(truncated, Arrays.copyOf(Files.readAllBytes(UNET_LORA), 100));
        e = assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(quick("a fox").lora(truncated, 1).build()));
        assertEquals("loras", e.field());
        e = assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(quick("a fox").lora(EMBEDDING, 1).build()));
        assertEquals("loras", e.field(), "an embedding file is not a LoRA");
        e = assertThrows(InvalidRequestException.class, () -> pipeline.generate(quick("a fox <lora:x:big>")
                .promptMode(PromptMode.A1111).build()));
        assertEquals("prompt", e.field());
        assertEquals(1, pipeline.generate(quick("a fox").build()).images().size());
    }

    @Test
    void anEmbeddingsTokenInTheNegativePromptIsReadAsItsVectorsToo() {
        Embedding style = Embedding.of(EMBEDDING, "<tiny-style>");
        float[] withToken = pixels(quick("a fox").negativePrompt("<tiny-style>").embedding(style).build());
        float[] asText = pixels(quick("a fox").negativePrompt("<tiny-style>").build());
        float[] withoutToken = pixels(quick("a fox").negativePrompt("blurry").embedding(style).build());
        assertFalse(Arrays.equals(withToken, asText), "with the embedding the token is its two vectors");
        assertFalse(Arrays.equals(withToken, withoutToken), "the negative prompt's token is read");
    }

    @Test
    void aReplicateFineTunesPtiFileReplacesItsTriggerWordWithItsTokens(@TempDir Path dir) {
        Map<String, TestFiles.T> tensors = new LinkedHashMap<>();
        float[] values = new float[2 * 32];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i * 0.7) * 0.05f;
        }
        tensors.put("text_encoders_0", TestFiles.T.f32(values, 2, 32));
        tensors.put("text_encoders_1", TestFiles.T.f32(values.clone(), 2, 32));
        Path pti = TestFiles.safetensors(dir.resolve("embeddings.pti"), tensors);
        float[] trigger = pixels(quick("a photo of TOK").embedding(Embedding.pti(pti, "TOK")).build());
        assertArrayEquals(trigger, pixels(quick("a photo of <s0><s1>").embedding(Embedding.pti(pti)).build()),
                "the trigger is replaced by <s0><s1>, Replicate's tokens");
        assertFalse(Arrays.equals(trigger, pixels(quick("a photo of TOK").build())));
    }
}
