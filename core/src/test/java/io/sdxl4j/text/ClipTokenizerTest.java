// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ClipTokenizerTest {

    private static final ClipTokenizer TOKENIZER = ClipTokenizer.load(TestData.tinyModel().resolve("tokenizer"));
    private static final ClipTokenizer TOKENIZER_2 = ClipTokenizer.load(TestData.tinyModel().resolve("tokenizer_2"));

    static Stream<Arguments> references() {
        JsonNode refs = TestData.json(TestData.conformance().resolve("tokenizer_refs.json"));
        List<Arguments> out = new ArrayList<>();
        int i = 0;
        for (JsonNode c : refs.path("cases")) {
            String text = c.path("text").asText();
            String shown = text.length() > 40 ? text.substring(0, 40) + "…" : text;
            out.add(Arguments.of(i++ + ": " + shown.replace("\n", "\\n"), text, c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("references")
    void givesTransformersIdsForBothTokenizers(String name, String text, JsonNode c) {
        check(TOKENIZER, text, c.path("tokenizer"));
        check(TOKENIZER_2, text, c.path("tokenizer_2"));
    }

    private static void check(ClipTokenizer tokenizer, String text, JsonNode expected) {
        assertArrayEquals(longs(expected.path("input_ids")), tokenizer.encodePadded(text), "padded ids");
        long[] untruncated = longs(expected.path("untruncated_ids"));
        int[] actual = tokenizer.encode(text);
        long[] actualLong = new long[actual.length];
        for (int i = 0; i < actual.length; i++) {
            actualLong[i] = actual[i];
        }
        assertArrayEquals(untruncated, actualLong, "untruncated ids");
    }

    @Test
    void padsWithEachTokenizersOwnPadToken() {
        assertEquals(49407, TOKENIZER.padId());
        assertEquals(0, TOKENIZER_2.padId());
        assertEquals(77, TOKENIZER.encodePadded("").length);
        assertEquals(49407, TOKENIZER.encodePadded("")[76]);
        assertEquals(0, TOKENIZER_2.encodePadded("")[76]);
    }

    @Test
    void truncatesLongPromptsToSeventySevenEndingWithEos() {
        long[] ids = TOKENIZER.encodePadded("word ".repeat(200));
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        assertEquals(49407, ids[76]);
    }

    @Test
    void aMalformedVocabularyFailsNamingTheFile(@TempDir Path dir) throws IOException {
        Path src = TestData.tinyModel().resolve("tokenizer");
        Files.copy(src.resolve("merges.txt"), dir.resolve("merges.txt"));
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 1,");
        SdxlException e = assertThrows(SdxlException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());
    }

    @Test
    void aMissingMergesFileFailsNamingTheFile(@TempDir Path dir) throws IOException {
        Files.copy(TestData.tinyModel().resolve("tokenizer/vocab.json"), dir.resolve("vocab.json"));
        SdxlException e = assertThrows(SdxlException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt"), e.getMessage());
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
