// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's extra-network prompt tags for LoRA: {@code <lora:name>}, {@code <lora:name:0.8>}
 * (and LyCORIS' {@code <lyco:…>}), taken out of the prompt, as the web UI's
 * {@code extra_networks.parse_prompt} does: each tag is removed from the text and names an adapter
 * of the LoRA folder with its multiplier (1 when absent; a second multiplier, the UNet's, is
 * refused: sdxl4j merges one scale per adapter).
 */
public final class LoraTags {

    private static final Pattern TAG = Pattern.compile("<(lora|lyco):([^:>]+)(?::([^:>]*))?(?::([^>]*))?>");

    /**
     * One tag.
     *
     * @param name  the adapter's name in the LoRA folder
     * @param scale its multiplier
     */
    public record Tag(String name, double scale) {
    }

    /**
     * The prompt without its tags, and the tags.
     *
     * @param prompt the text the encoders read
     * @param tags   the tags, in order
     */
    public record Parsed(String prompt, List<Tag> tags) {
    }

    private LoraTags() {
    }

    /**
     * Takes the LoRA tags out of {@code prompt}.
     *
     * @throws IllegalArgumentException naming the tag whose multiplier is not a number
     */
    public static Parsed parse(String prompt) {
        Matcher m = TAG.matcher(prompt);
        List<Tag> tags = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        while (m.find()) {
            String multiplier = m.group(3);
            if (m.group(4) != null) {
                throw new IllegalArgumentException(m.group() + ": separate text-encoder and UNet multipliers are"
                        + " not supported; give one");
            }
            double scale;
            try {
                scale = multiplier == null || multiplier.isBlank() ? 1.0 : Double.parseDouble(multiplier.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(m.group() + ": multiplier '" + multiplier + "' is not a number");
            }
            tags.add(new Tag(m.group(2).strip(), scale));
            m.appendReplacement(text, "");
        }
        m.appendTail(text);
        return new Parsed(tags.isEmpty() ? prompt : text.toString(), List.copyOf(tags));
    }
}
