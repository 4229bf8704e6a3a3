// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The attention syntax, with AUTOMATIC1111's own examples of {@code parse_prompt_attention}. */
class WeightedPromptTest {

    private static void assertSegments(String prompt, Object... textAndWeight) {
        List<WeightedPrompt.Segment> segments = WeightedPrompt.parse(prompt);
        assertEquals(textAndWeight.length / 2, segments.size(), prompt + " -> " + segments);
        for (int i = 0; i < segments.size(); i++) {
            assertEquals(textAndWeight[2 * i], segments.get(i).text(), prompt);
            assertEquals((double) textAndWeight[2 * i + 1], segments.get(i).weight(), 1e-12, prompt);
        }
    }

    @Test
    void plainTextHasWeightOne() {
        assertSegments("normal text", "normal text", 1.0);
    }

    @Test
    void roundBracketsMultiplyByOnePointOne() {
        assertSegments("an (important) word", "an ", 1.0, "important", 1.1, " word", 1.0);
    }

    @Test
    void unbalancedBracketsCloseAtTheEnd() {
        assertSegments("(unbalanced", "unbalanced", 1.1);
    }

    @Test
    void escapesAreLiteral() {
        assertSegments("\\(literal\\]", "(literal]", 1.0);
    }

    @Test
    void equalWeightsMerge() {
        assertSegments("(unnecessary)(parens)", "unnecessaryparens", 1.1);
    }

    @Test
    void explicitWeightsNestingAndSquareBrackets() {
        assertSegments("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
                "a ", 1.0, "house", 1.3 * 1.1 * 1.1, " ", 1.1, "on", 1.0, " a ", 1.1, "hill", 0.55, ", sun, ", 1.1,
                "sky", 1.1 * 1.1 * 1.1 * 1.1, ".", 1.1);
    }

    @Test
    void breakStartsANewChunk() {
        List<WeightedPrompt.Segment> s = WeightedPrompt.parse("a cat BREAK a dog");
        assertEquals(3, s.size());
        assertTrue(s.get(1).isBreak());
        assertEquals("a cat", s.get(0).text());
        assertEquals("a dog", s.get(2).text());
    }

    @Test
    void anEmptyPromptIsOneEmptySegment() {
        assertSegments("", "", 1.0);
    }
}
