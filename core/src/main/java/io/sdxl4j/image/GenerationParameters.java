// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import java.util.Locale;

/**
 * The generation parameters as A1111 writes them into images, so that tools that read A1111's
 * {@code parameters} text (image browsers, "PNG info" tabs) show them:
 *
 * <pre>
 * a photo of an astronaut
 * Negative prompt: blurry
 * Steps: 30, Sampler: Euler, CFG scale: 5.0, Seed: 42, Size: 1024x1024, Model: sdxl-base
 * </pre>
 */
public final class GenerationParameters {

    /**
     * Longest prompt text kept in the metadata (each of prompt and negative prompt): a 10 MB prompt
     * must not make every image 10 MB larger.
     */
    public static final int MAX_PROMPT_CHARS = 4096;

    private GenerationParameters() {
    }

    /**
     * Formats the parameters.
     *
     * @param negativePrompt the negative prompt, or null when none was given
     * @param extra          further {@code key: value} pairs, already formatted, or null
     */
    public static String format(String prompt, String negativePrompt, int steps, String sampler, double cfgScale,
                                long seed, int width, int height, String model, String extra) {
        StringBuilder sb = new StringBuilder(oneLine(prompt));
        if (negativePrompt != null && !negativePrompt.isEmpty()) {
            sb.append("\nNegative prompt: ").append(oneLine(negativePrompt));
        }
        sb.append("\nSteps: ").append(steps)
                .append(", Sampler: ").append(sampler)
                .append(", CFG scale: ").append(String.format(Locale.ROOT, "%s", cfgScale))
                .append(", Seed: ").append(seed)
                .append(", Size: ").append(width).append('x').append(height)
                .append(", Model: ").append(model);
        if (extra != null && !extra.isEmpty()) {
            sb.append(", ").append(extra);
        }
        return sb.toString();
    }

    private static String oneLine(String s) {
        String line = s.replace('\n', ' ').replace('\r', ' ');
        return line.length() <= MAX_PROMPT_CHARS ? line : line.substring(0, MAX_PROMPT_CHARS) + "…";
    }
}
