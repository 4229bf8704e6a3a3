// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A named prompt style, as the hosted SDXL APIs offer them ({@code style_preset}: cinematic,
 * anime, photographic, …): a template the prompt is placed into ({@code {prompt}}) and a negative
 * prompt that is put before the user's own.
 *
 * @param name     the preset's name
 * @param template the prompt template, containing {@code {prompt}}
 * @param negative the style's negative prompt (may be empty)
 */
public record StylePreset(String name, String template, String negative) {

    private static final Map<String, StylePreset> PRESETS = load();

    /** Every preset name. */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /** The preset of a name (case and {@code _}/{@code -} insensitive), if any. */
    public static Optional<StylePreset> find(String name) {
        return name == null ? Optional.empty()
                : Optional.ofNullable(PRESETS.get(name.strip().toLowerCase(Locale.ROOT).replace('_', '-')));
    }

    /**
     * The preset of a name.
     *
     * @throws InvalidRequestException for the field {@code style}, listing the known presets
     */
    public static StylePreset parse(String name) {
        return find(name).orElseThrow(() -> new InvalidRequestException("style", name,
                "is not a style preset; known: " + String.join(", ", names())));
    }

    /** The prompt placed into the template. */
    public String applyTo(String prompt) {
        return template.replace("{prompt}", prompt);
    }

    /** The style's negative prompt put before the user's (a blank user negative gives way to the style's). */
    public NegativePrompt negativeWith(NegativePrompt user) {
        if (negative.isEmpty()) {
            return user;
        }
        return switch (user) {
            case NegativePrompt.None none -> NegativePrompt.of(negative);
            case NegativePrompt.Text t -> NegativePrompt.of(t.text().isBlank() ? negative : negative + ", " + t.text());
        };
    }

    private static Map<String, StylePreset> load() {
        try (InputStream in = StylePreset.class.getResourceAsStream("styles.json")) {
            if (in == null) {
                throw new IllegalStateException("styles.json missing from the sdxl4j-core jar");
            }
            JsonNode root = new ObjectMapper().readTree(in);
            Map<String, StylePreset> map = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                map.put(e.getKey(), new StylePreset(e.getKey(), e.getValue().path("prompt").asText(),
                        e.getValue().path("negative").asText()));
            }
            return Collections.unmodifiableMap(map);
        } catch (IOException e) {
            throw new UncheckedIOException("styles.json does not parse", e);
        }
    }
}
