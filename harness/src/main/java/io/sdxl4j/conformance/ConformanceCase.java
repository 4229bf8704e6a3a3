// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * One reference case of a conformance folder (format: {@code cases.json} as computed from Hugging
 * Face diffusers): the pipeline call's parameters, the reference files, the tolerance.
 *
 * @param id        unique name
 * @param pipeline  {@code txt2img}, {@code img2img}, {@code inpaint}, {@code refiner_ensemble},
 *                  {@code refiner_after_base}
 * @param dir       the cases folder, which the case's paths are relative to
 * @param model     the model folder, resolved against the cases folder
 * @param refiner   the refiner folder of refiner cases, resolved likewise, or null
 * @param json      the whole case, for the pipeline-specific keys
 * @param files     reference files by key ({@code image}, {@code latents_step03}), resolved
 * @param imageTolerance largest allowed absolute difference of the float image in [0, 1]
 * @param embedsTolerance largest allowed absolute difference of the prompt embeddings
 */
public record ConformanceCase(String id, String pipeline, Path dir, Path model, Path refiner, JsonNode json,
                              Map<String, Path> files,
                              double imageTolerance, double embedsTolerance) {

    /** The refiner folder of the refiner cases, resolved against the cases folder. */
    public Optional<Path> refinerModel() {
        return Optional.ofNullable(refiner);
    }

    public String prompt() {
        return json.path("prompt").asText();
    }

    /** The negative prompt; empty when the case gave none ({@code null}). */
    public Optional<String> negativePrompt() {
        JsonNode n = json.path("negative_prompt");
        return n.isTextual() ? Optional.of(n.asText()) : Optional.empty();
    }

    public int steps() {
        return json.path("steps").asInt();
    }

    public double guidanceScale() {
        return json.path("guidance_scale").asDouble();
    }

    public long seed() {
        return json.path("seed").asLong();
    }

    public int width() {
        return json.path("width").asInt();
    }

    public int height() {
        return json.path("height").asInt();
    }

    /** The scheduler's short name ({@code euler} when the case names none). */
    public String scheduler() {
        return json.path("scheduler").asText("euler");
    }

    public int imagesPerPrompt() {
        return json.path("num_images_per_prompt").asInt(1);
    }

    public double guidanceRescale() {
        return json.path("guidance_rescale").asDouble(0.0);
    }

    /** An optional number of the case ({@code strength}, {@code high_noise_fraction}). */
    public Optional<Double> number(String key) {
        JsonNode n = json.path(key);
        return n.isNumber() ? Optional.of(n.asDouble()) : Optional.empty();
    }

    /** An optional (height, width) pair of the case ({@code original_size}). */
    public Optional<int[]> pair(String key) {
        JsonNode n = json.path(key);
        return n.isArray() && n.size() == 2 ? Optional.of(new int[] {n.get(0).asInt(), n.get(1).asInt()})
                : Optional.empty();
    }

    /** A reference file, if the case has it. */
    public Optional<Path> file(String key) {
        return Optional.ofNullable(files.get(key));
    }
}
