// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.PromptEmbeds;
import io.sdxl4j.PromptMode;
import io.sdxl4j.TestData;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.ModelFolder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TextConditionerTest {

    private static Engine engine;
    private static TextConditioner text;

    @BeforeAll
    static void open() {
        engine = Engines.create(PipelineOptions.defaults());
        text = TextConditioner.open(ModelFolder.open(TestData.tinyModel()), engine);
    }

    @AfterAll
    static void close() {
        text.close();
        engine.close();
    }

    @Test
    void a1111ModeReadsAPlainShortPromptExactlyAsDiffusers() {
        PromptEmbeds diffusers = text.encode("a red fox in the snow", PromptMode.DIFFUSERS, 0);
        PromptEmbeds a1111 = text.encode("a red fox in the snow", PromptMode.A1111, 0);
        assertArrayEquals(diffusers.hidden(), a1111.hidden());
        assertArrayEquals(diffusers.pooled(), a1111.pooled());
    }

    @Test
    void aWeightScalesItsTokenRowsAndTheChunkKeepsItsMeanPerEncoder() {
        PromptEmbeds plain = text.encode("a red fox", PromptMode.A1111, 0);
        PromptEmbeds weighted = text.encode("a (red:1.5) fox", PromptMode.A1111, 0);
        int d = text.hiddenSize();
        int first = d / 2; // the first encoder's width in the tiny model (32 + 32)
        for (int[] cols : new int[][] {{0, first}, {first, d}}) {
            double plainSum = 0;
            double weightedSum = 0;
            for (int t = 0; t < 77; t++) {
                for (int k = cols[0]; k < cols[1]; k++) {
                    plainSum += plain.hidden()[t * d + k];
                    weightedSum += weighted.hidden()[t * d + k];
                }
            }
            assertEquals(plainSum, weightedSum, 1e-2 * Math.abs(plainSum), "A1111 restores the chunk's mean");
            // Token 2 ("red") is weighted 1.5 against its neighbours.
            int k = cols[0] + 3;
            double rescale = weighted.hidden()[1 * d + k] / plain.hidden()[1 * d + k];
            assertEquals(1.5 * rescale, weighted.hidden()[2 * d + k] / plain.hidden()[2 * d + k], 1e-4);
        }
        assertArrayEquals(plain.pooled(), weighted.pooled(), "the pooled embedding is not weighted");
    }

    @Test
    void longPromptsAreChunkedInA1111ModeAndTruncatedInDiffusersMode() {
        String prompt = "a castle on a cliff above a stormy sea, ".repeat(12);
        PromptEmbeds truncated = text.encode(prompt, PromptMode.DIFFUSERS, 0);
        PromptEmbeds chunked = text.encode(prompt, PromptMode.A1111, 0);
        assertEquals(77 * text.hiddenSize(), truncated.hidden().length);
        int chunks = text.chunks(chunked);
        assertTrue(chunks >= 2, chunks + " chunks");
        assertEquals(77 * chunks * text.hiddenSize(), chunked.hidden().length);
    }

    @Test
    void paddingAddsEmptyPromptChunks() {
        PromptEmbeds one = text.encode("a fox", PromptMode.A1111, 0);
        PromptEmbeds padded = text.padTo(one, 3, 0);
        assertEquals(3, text.chunks(padded));
        PromptEmbeds empty = text.encode("", PromptMode.DIFFUSERS, 0);
        int row = 77 * text.hiddenSize();
        for (int i = 0; i < row; i++) {
            assertEquals(one.hidden()[i], padded.hidden()[i]);
            assertEquals(empty.hidden()[i], padded.hidden()[2 * row + i], 1e-6);
        }
    }
}
