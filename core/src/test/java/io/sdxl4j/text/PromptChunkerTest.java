// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.TestData;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptChunkerTest {

    private static final ClipTokenizer TOKENIZER = ClipTokenizer.load(TestData.tinyModel().resolve("tokenizer"));
    private static final ClipTokenizer TOKENIZER_2 = ClipTokenizer.load(TestData.tinyModel().resolve("tokenizer_2"));

    private static List<PromptChunker.Chunk> chunks(ClipTokenizer t, String prompt) {
        return PromptChunker.chunks(t, WeightedPrompt.parse(prompt));
    }

    @Test
    void aShortPlainPromptIsTheDiffusersEncoding() {
        for (ClipTokenizer t : List.of(TOKENIZER, TOKENIZER_2)) {
            List<PromptChunker.Chunk> c = chunks(t, "a photo of an astronaut riding a horse");
            assertEquals(1, c.size());
            assertArrayEquals(t.encodePadded("a photo of an astronaut riding a horse"), c.get(0).ids());
            for (float m : c.get(0).multipliers()) {
                assertEquals(1f, m);
            }
        }
    }

    @Test
    void longPromptsSplitIntoChunksOfSeventyFiveTokens() {
        String prompt = "word ".repeat(200);
        List<PromptChunker.Chunk> c = chunks(TOKENIZER, prompt);
        assertEquals(3, c.size(), "200 tokens: 75 + 75 + 50");
        for (PromptChunker.Chunk chunk : c) {
            assertEquals(77, chunk.ids().length);
            assertEquals(TOKENIZER.bosId(), chunk.ids()[0]);
            assertEquals(TOKENIZER.eosId(), chunk.ids()[76]);
        }
        assertEquals(TOKENIZER.eosId(), c.get(2).ids()[51], "the last chunk ends after its 50 tokens");
    }

    @Test
    void aChunkFillingUpShortlyAfterACommaIsCutAtTheComma() {
        // 70 words, a comma, then 10 more: the chunk would fill 4 tokens after the comma, so the
        // words after it move to the next chunk.
        String prompt = "word ".repeat(70) + ", " + "tail ".repeat(10);
        List<PromptChunker.Chunk> c = chunks(TOKENIZER, prompt);
        assertEquals(2, c.size());
        assertEquals(TOKENIZER.commaId(), c.get(0).ids()[71], "the first chunk ends with the comma");
        assertEquals(TOKENIZER.eosId(), c.get(0).ids()[72]);
        int tail = TOKENIZER.tokens("tail")[0];
        assertEquals(tail, c.get(1).ids()[1]);
        assertEquals(tail, c.get(1).ids()[10]);
    }

    @Test
    void breakAndWeightsAreCarriedPerToken() {
        List<PromptChunker.Chunk> c = chunks(TOKENIZER, "a (red:1.5) fox BREAK snow");
        assertEquals(2, c.size());
        int red = TOKENIZER.tokens("red")[0];
        assertEquals(red, c.get(0).ids()[2]);
        assertEquals(1.5f, c.get(0).multipliers()[2]);
        assertEquals(1f, c.get(0).multipliers()[1]);
        assertEquals(TOKENIZER.tokens("snow")[0], c.get(1).ids()[1]);
        assertTrue(c.get(1).ids()[3] == TOKENIZER.padId());
    }

    @Test
    void theSecondTokenizerPadsWithItsOwnPadToken() {
        PromptChunker.Chunk empty = PromptChunker.empty(TOKENIZER_2);
        assertEquals(TOKENIZER_2.eosId(), empty.ids()[1]);
        assertEquals(0, empty.ids()[2], "tokenizer_2 pads with '!' (id 0) after the first EOS");
        assertArrayEquals(TOKENIZER_2.encodePadded(""), empty.ids());
    }
}
