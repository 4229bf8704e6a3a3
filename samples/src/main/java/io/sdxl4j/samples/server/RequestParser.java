// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import io.sdxl4j.RefinerMode;
import io.sdxl4j.image.ImageEncoder;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the JSON body of {@code POST /v1/generate} in the hosted SDXL APIs' vocabulary (Replicate,
 * Baseten, Cloudflare Workers AI, Segmind) into a {@link GenerationRequest} and the response's
 * options. Each field may come under any of its aliases; a bad value is reported under the name
 * the client used. Unknown fields are ignored, as the hosted APIs ignore them.
 */
final class RequestParser {

    /** A request the server cannot serve, naming the field at fault. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String field;

        BadRequest(String field, String message) {
            super(message);
            this.field = field;
        }
    }

    /**
     * A parsed request.
     *
     * @param format        the images' encoding
     * @param base64        answer JSON with base64 images instead of the image bytes
     * @param timeoutMillis the generation's time limit
     * @param preview       send a latent preview with each progress event (streaming only)
     */
    record Parsed(GenerationRequest request, ImageEncoder.Format format, boolean base64, long timeoutMillis,
                  boolean preview, RequestParser names) {

        /** An error the pipeline raised for this request ("width: ..."), under the client's field name. */
        BadRequest badRequest(IllegalArgumentException e) {
            return names.fromValidation(e);
        }
    }

    private final long maxTimeoutMillis;
    /** The client's name for each request field, to name it in errors from the request's own validation. */
    private final Map<String, String> used = new HashMap<>();
    private final JsonNode body;

    private RequestParser(JsonNode body, long maxTimeoutMillis) {
        this.body = body;
        this.maxTimeoutMillis = maxTimeoutMillis;
    }

    /**
     * Parses a request body.
     *
     * @param maxTimeoutMillis the server's limit; a request may ask for less with {@code timeout} (seconds)
     * @throws BadRequest naming the field
     */
    static Parsed parse(JsonNode body, long maxTimeoutMillis) {
        if (body == null || !body.isObject()) {
            throw new BadRequest("body", "expected a JSON object");
        }
        return new RequestParser(body, maxTimeoutMillis).parse();
    }

    private Parsed parse() {
        String prompt = text("prompt");
        if (prompt == null || prompt.isBlank()) {
            throw new BadRequest("prompt", "missing or empty");
        }
        GenerationRequest.Builder b = GenerationRequest.builder(prompt);
        String negative = text("negative_prompt");
        if (negative != null) {
            b.negativePrompt(negative);
        }
        Integer width = integer("width");
        Integer height = integer("height");
        if (width != null) {
            b.width(width);
        }
        if (height != null) {
            b.height(height);
        }
        Integer steps = integer("num_inference_steps", "num_steps", "steps");
        if (steps != null) {
            b.steps(steps);
        }
        Double guidance = number("guidance_scale", "guidance", "cfg_scale");
        if (guidance != null) {
            b.guidanceScale(guidance);
        }
        Long seed = longValue("seed");
        if (seed == null || seed == -1) {
            b.randomSeed();
        } else if (seed < 0) {
            throw new BadRequest(used.get("seed"), seed + " is negative (-1 or absent: random)");
        } else {
            b.seed(seed);
        }
        Integer samples = integer("samples", "num_images", "num_outputs", "batch_size");
        if (samples != null) {
            b.samples(samples);
        }
        String scheduler = text("scheduler");
        if (scheduler != null) {
            apply("scheduler", () -> b.scheduler(scheduler));
        }
        Double strength = number("strength", "prompt_strength");
        if (strength != null) {
            b.strength(strength);
        }
        String image = text("image", "image_b64", "init_image");
        if (image != null) {
            b.image(image("image", image));
        }
        String mask = text("mask", "mask_b64", "mask_image");
        if (mask != null) {
            b.mask(image("mask", mask));
        }
        RefinerMode refiner = refiner();
        if (refiner != null) {
            b.refiner(refiner);
        }
        Double fraction = number("high_noise_fraction", "high_noise_frac");
        if (fraction != null) {
            b.highNoiseFraction(fraction);
        }
        String style = text("style", "style_preset");
        if (style != null) {
            apply("style", () -> b.style(style));
        }
        ImageEncoder.Format format = format();
        Boolean base64 = bool("base64");
        Double timeout = number("timeout");
        long timeoutMillis = maxTimeoutMillis;
        if (timeout != null) {
            if (!(timeout > 0)) {
                throw new BadRequest(used.get("timeout"), timeout + " is not a positive number of seconds");
            }
            timeoutMillis = Math.min(maxTimeoutMillis, (long) (timeout * 1000));
        }
        Boolean preview = bool("preview");
        GenerationRequest request;
        try {
            request = b.build();
        } catch (IllegalArgumentException e) {
            throw fromValidation(e);
        }
        return new Parsed(request, format, base64 != null && base64, timeoutMillis, preview != null && preview,
                this);
    }

    /** Maps the request's own validation error ("steps: 0 is outside ...") to the client's field name. */
    BadRequest fromValidation(IllegalArgumentException e) {
        String message = e.getMessage() == null ? "invalid" : e.getMessage();
        int colon = message.indexOf(':');
        String javaField = colon > 0 ? message.substring(0, colon) : "body";
        String key = switch (javaField) {
            case "steps" -> "num_inference_steps";
            case "guidanceScale" -> "guidance_scale";
            case "guidanceRescale" -> "guidance_rescale";
            case "highNoiseFraction" -> "high_noise_fraction";
            case "negativePrompt" -> "negative_prompt";
            default -> javaField;
        };
        String field = used.getOrDefault(key, key);
        return new BadRequest(field, colon > 0 ? message.substring(colon + 1).strip() : message);
    }

    private RefinerMode refiner() {
        JsonNode node = find("refiner", "refine");
        if (node == null) {
            return null;
        }
        String name = used.get("refiner");
        if (node.isBoolean()) {
            return node.asBoolean() ? RefinerMode.ENSEMBLE : RefinerMode.NONE;
        }
        if (!node.isTextual()) {
            throw new BadRequest(name, "expected true/false or a mode (no_refiner, expert_ensemble_refiner,"
                    + " base_image_refiner)");
        }
        return switch (node.asText().toLowerCase(Locale.ROOT)) {
            case "no_refiner", "none", "false" -> RefinerMode.NONE;
            case "expert_ensemble_refiner", "ensemble", "true" -> RefinerMode.ENSEMBLE;
            case "base_image_refiner", "base_then_refiner" -> RefinerMode.BASE_THEN_REFINER;
            default -> throw new BadRequest(name, "'" + node.asText() + "' is not one of no_refiner,"
                    + " expert_ensemble_refiner, base_image_refiner");
        };
    }

    private ImageEncoder.Format format() {
        String f = text("output_format", "format");
        if (f == null) {
            return ImageEncoder.Format.PNG;
        }
        return switch (f.toLowerCase(Locale.ROOT)) {
            case "png" -> ImageEncoder.Format.PNG;
            case "jpeg", "jpg" -> ImageEncoder.Format.JPEG;
            default -> throw new BadRequest(used.get("output_format"), "'" + f + "' is not png or jpeg");
        };
    }

    private ImageInput image(String key, String value) {
        try {
            return ImageInput.ofBase64(value);
        } catch (IllegalArgumentException | io.sdxl4j.SdxlException e) {
            throw new BadRequest(used.get(key), e.getMessage());
        }
    }

    private void apply(String key, Runnable setter) {
        try {
            setter.run();
        } catch (IllegalArgumentException e) {
            String message = e.getMessage() == null ? "invalid" : e.getMessage();
            int colon = message.indexOf(':');
            throw new BadRequest(used.get(key), colon > 0 ? message.substring(colon + 1).strip() : message);
        }
    }

    /** The node under the first alias present; remembers the alias used under the first name. */
    private JsonNode find(String... aliases) {
        for (String alias : aliases) {
            JsonNode n = body.get(alias);
            if (n != null && !n.isNull()) {
                used.put(aliases[0], alias);
                return n;
            }
        }
        return null;
    }

    private String text(String... aliases) {
        JsonNode n = find(aliases);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            throw new BadRequest(used.get(aliases[0]), "expected a string, got " + n.getNodeType().name()
                    .toLowerCase(Locale.ROOT));
        }
        return n.asText();
    }

    private Integer integer(String... aliases) {
        Long v = longValue(aliases);
        if (v == null) {
            return null;
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new BadRequest(used.get(aliases[0]), v + " is out of range");
        }
        return v.intValue();
    }

    private Long longValue(String... aliases) {
        JsonNode n = find(aliases);
        if (n == null) {
            return null;
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        if (n.isNumber() && n.asDouble() == Math.rint(n.asDouble())) {
            return (long) n.asDouble();
        }
        throw new BadRequest(used.get(aliases[0]), "expected an integer, got " + n);
    }

    private Double number(String... aliases) {
        JsonNode n = find(aliases);
        if (n == null) {
            return null;
        }
        if (!n.isNumber()) {
            throw new BadRequest(used.get(aliases[0]), "expected a number, got " + n);
        }
        return n.asDouble();
    }

    private Boolean bool(String... aliases) {
        JsonNode n = find(aliases);
        if (n == null) {
            return null;
        }
        if (!n.isBoolean()) {
            throw new BadRequest(used.get(aliases[0]), "expected true or false, got " + n);
        }
        return n.asBoolean();
    }
}
