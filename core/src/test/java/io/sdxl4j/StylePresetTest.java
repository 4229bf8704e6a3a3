// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class StylePresetTest {

    @ParameterizedTest
    @ValueSource(strings = {"cinematic", "anime", "photographic", "digital-art", "comic-book", "fantasy-art",
        "line-art", "3d-model", "pixel-art", "analog-film", "neon-punk", "isometric", "low-poly", "origami",
        "craft-clay", "enhance", "base"})
    void everyHostedApiStyleWrapsThePrompt(String name) {
        StylePreset style = StylePreset.parse(name);
        String prompt = style.applyTo("a red fox");
        assertTrue(prompt.contains("a red fox"), prompt);
        assertTrue(!prompt.contains("{prompt}"), prompt);
        assertEquals(style, StylePreset.parse(name.toUpperCase(java.util.Locale.ROOT).replace('-', '_')));
    }

    @Test
    void theBaseStyleLeavesPromptAndNegativeAlone() {
        StylePreset base = StylePreset.parse("base");
        assertEquals("a fox", base.applyTo("a fox"));
        assertEquals(NegativePrompt.NONE, base.negativeWith(NegativePrompt.NONE));
        assertEquals(NegativePrompt.of("blurry"), base.negativeWith(NegativePrompt.of("blurry")));
    }

    @Test
    void theStylesNegativeComesBeforeTheUsers() {
        StylePreset anime = StylePreset.parse("anime");
        assertEquals(NegativePrompt.of(anime.negative() + ", blurry"), anime.negativeWith(NegativePrompt.of("blurry")));
        assertEquals(NegativePrompt.of(anime.negative()), anime.negativeWith(NegativePrompt.NONE));
    }

    @Test
    void unknownStylesNameTheFieldAndTheKnownOnes() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> StylePreset.parse("vaporous"));
        assertEquals("style", e.field());
        assertTrue(e.reason().contains("cinematic"), e.reason());
        assertEquals(17, StylePreset.names().size(), List.copyOf(StylePreset.names()).toString());
    }
}
