// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.TestData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tokens added after the vocabulary, as transformers' {@code add_tokens} adds them for textual inversion. */
class ClipTokenizerAddedTokensTest {

    private static final ClipTokenizer BASE = ClipTokenizer.load(TestData.tinyModel().resolve("tokenizer"));

    @Test
    void addedTokensTakeTheIdsAfterTheVocabularyInOrder() {
        ClipTokenizer t = BASE.withAddedTokens(List.of("<cat-toy>", "<cat-toy>_1"));
        assertEquals(Map.of("<cat-toy>", 49408, "<cat-toy>_1", 49409), t.addedTokens());
        assertEquals(49410, t.size());
        ClipTokenizer more = t.withAddedTokens(List.of("<x>"));
        assertEquals(49410, (int) more.addedTokens().get("<x>"));
        assertEquals(List.of("<cat-toy>", "<cat-toy>_1", "<x>"), List.copyOf(more.addedTokens().keySet()));
    }

    @Test
    void addedTokensAreSplitOutOfTheRawTextBeforeBpeLongestFirst() {
        ClipTokenizer t = BASE.withAddedTokens(List.of("<cat-toy>", "<cat-toy>_1"));
        // "a" 320, "photo" 1125; the tokens need no spaces around them and are matched as written.
        assertArrayEquals(new int[] {49406, 320, 49408, 49409, 1125, 49407}, t.encode("a <cat-toy> <cat-toy>_1photo"));
        assertArrayEquals(new int[] {49406, 320, 49409, 49408, 49407}, t.encode("a<cat-toy>_1<cat-toy>"));
        assertEquals(List.of("<cat-toy>_1", "<cat-toy>"), t.addedTokensIn("x <cat-toy>_1 <cat-toy> <cat-toy>"));
    }

    @Test
    void matchingIsCaseSensitiveAsTransformersDoesWithoutLowerCasing() {
        ClipTokenizer t = BASE.withAddedTokens(List.of("<Cat>"));
        assertArrayEquals(new int[] {49406, 49408, 49407}, t.encode("<Cat>"));
        assertEquals(BASE.encode("<cat>").length, t.encode("<cat>").length);
        assertTrue(t.addedTokensIn("<cat>").isEmpty());
    }

    @Test
    void theOriginalTokenizerIsUnchanged() {
        int[] before = BASE.encode("a <cat-toy>");
        ClipTokenizer t = BASE.withAddedTokens(List.of("<cat-toy>"));
        assertArrayEquals(before, BASE.encode("a <cat-toy>"));
        assertTrue(BASE.addedTokens().isEmpty());
        assertEquals(49408, BASE.size());
        assertEquals(3, t.encode("a <cat-toy>").length - 1);
        assertThrows(UnsupportedOperationException.class, () -> t.addedTokens().put("y", 1));
    }

    @Test
    void aTokenOfTheVocabularyOrAlreadyAddedIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BASE.withAddedTokens(List.of("photo</w>")));
        assertTrue(e.getMessage().contains("'photo</w>' is already in the tokenizer's vocabulary"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BASE.withAddedTokens(List.of("<a>", "<a>")));
        assertThrows(IllegalArgumentException.class, () -> BASE.withAddedTokens(List.of("")));
    }

    @Test
    void paddedEncodingCarriesTheAddedIds() {
        ClipTokenizer t = BASE.withAddedTokens(List.of("<s0>"));
        long[] ids = t.encodePadded("<s0>");
        assertEquals(77, ids.length);
        assertArrayEquals(new long[] {49406, 49408, 49407, 49407}, java.util.Arrays.copyOf(ids, 4));
    }
}
