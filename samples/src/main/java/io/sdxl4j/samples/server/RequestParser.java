// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;
import io.sdxl4j.Refiner;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the JSON body of {@code POST /v1/generate} in the hosted SDXL APIs' vocabulary (Replicate,
 * Baseten, Cloudflare Workers AI, Segmind) into a {@link GenerationRequest} and the response's
 * options. Each field may come under any of its aliases; a bad value is reported under the name
 * the client used. Unknown fields are ignored, as the hosted APIs ignore them. Public for the
 * Spark job ({@code sdxl4j-spark}), whose JSON lines are the native API's requests.
 */
public final class RequestParser {

    /** A request the server cannot serve, naming the field at fault. */
    public static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String field;

        BadRequest(String field, String message) {
            super(message);
            this.field = field;
        }

        /** The field at fault, as the client spelt it. */
        public String field() {
            return field;
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
    public record Parsed(GenerationRequest request, OutputFormat format, boolean base64, long timeoutMillis,
                  boolean preview, RequestParser parser) implements FieldNames {

        @Override
        public String client(String libraryField) {
            return parser.fromValidation(new InvalidRequestException(libraryField, null, "-")).field;
        }

        @Override
        public ApiError invalid(InvalidRequestException e) {
            BadRequest bad = parser.fromValidation(e);
            return ApiError.bad(bad.field, bad.getMessage());
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
    public static Parsed parse(JsonNode body, long maxTimeoutMillis) {
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
        Integer width = integer("width");
        Integer height = integer("height");
        Integer steps = integer("num_inference_steps", "num_steps", "steps");
        Double guidance = number("guidance_scale", "guidance", "cfg_scale");
        Long seed = longValue("seed");
        Integer samples = integer("samples", "num_images", "num_outputs", "batch_size");
        String scheduler = text("scheduler");
        Double strength = number("strength", "prompt_strength");
        String image = text("image", "image_b64", "init_image");
        String mask = text("mask", "mask_b64", "mask_image");
        Integer maskBlur = integer("mask_blur");
        Integer clipSkip = integer("clip_skip");
        Double fraction = number("high_noise_fraction", "high_noise_frac");
        Integer refinerSteps = integer("refine_steps", "refiner_steps");
        Double refinerStrength = number("refiner_strength");
        String style = text("style", "style_preset");
        Boolean watermark = bool("watermark", "apply_watermark");
        JsonNode loras = find("loras");
        try {
            if (loras != null && !loras.isNull()) {
                // Names of the server's LoRA folder (serve --lora-dir), never paths of its disk.
                try {
                    b.loras(ServedAdapters.loras(loras, used.get("loras"), 400));
                } catch (ApiError e) {
                    throw new BadRequest(e.field, e.getMessage());
                }
            }
            if (negative != null) {
                b.negativePrompt(negative);
            }
            if (width != null) {
                b.width(width);
            }
            if (height != null) {
                b.height(height);
            }
            if (steps != null) {
                b.steps(steps);
            }
            if (guidance != null) {
                b.guidanceScale(guidance);
            }
            if (seed != null && seed != -1) {
                b.seed(seed); // -1 or absent: random
            }
            if (samples != null) {
                b.samples(samples);
            }
            if (scheduler != null) {
                b.scheduler(scheduler);
            }
            if (clipSkip != null) {
                b.clipSkip(clipSkip);
            }
            if (style != null) {
                b.style(style);
            }
            if (watermark != null) {
                b.watermark(watermark);
            }
            if (mask != null && image == null) {
                throw new BadRequest(used.get("mask"), "given without an image to inpaint");
            }
            if (image != null) {
                ImageInput source = image("image", image);
                if (mask != null) {
                    GenerationMode.Inpaint inpaint = GenerationMode.inpaint(source, image("mask", mask));
                    inpaint = strength == null ? inpaint : inpaint.withStrength(strength);
                    b.mode(maskBlur == null ? inpaint : inpaint.withMaskBlur(maskBlur));
                } else {
                    GenerationMode.ImageToImage i2i = GenerationMode.imageToImage(source);
                    b.mode(strength == null ? i2i : i2i.withStrength(strength));
                }
            }
            // Values of a mode the request does not use are still checked: a client that sends a bad one
            // hears about it instead of having it ignored.
            if (strength != null && image == null && !(strength > 0 && strength <= 1)) {
                throw new InvalidRequestException("strength", strength, "is outside (0, 1]");
            }
            if (fraction != null) {
                Refiner.ensemble().withHighNoiseFraction(fraction);
            }
            if (refinerSteps != null) {
                Refiner.secondPass().withSteps(refinerSteps);
            }
            if (refinerStrength != null) {
                Refiner.secondPass().withStrength(refinerStrength);
            }
            refiner(fraction, refinerSteps, refinerStrength).ifPresent(b::refiner);
        } catch (InvalidRequestException e) {
            throw fromValidation(e);
        }
        OutputFormat format = format();
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
        } catch (InvalidRequestException e) {
            throw fromValidation(e);
        }
        return new Parsed(request, format, base64 != null && base64, timeoutMillis, preview != null && preview,
                this);
    }

    /** The request field an {@link InvalidRequestException} names, under the name the client used for it. */
    BadRequest fromValidation(InvalidRequestException e) {
        String key = switch (e.field()) {
            case "steps" -> "num_inference_steps";
            case "guidanceScale" -> "guidance_scale";
            case "guidanceRescale" -> "guidance_rescale";
            case "refiner.highNoiseFraction" -> "high_noise_fraction";
            case "refiner.steps" -> "refine_steps";
            case "refiner.strength" -> "refiner_strength";
            case "negativePrompt" -> "negative_prompt";
            case "clipSkip" -> "clip_skip";
            case "maskBlur" -> "mask_blur";
            case "strength" -> "strength";
            case "refiner" -> "refiner";
            case "image" -> "image";
            case "watermark" -> "watermark";
            default -> e.field();
        };
        String field = used.getOrDefault(key, key);
        return new BadRequest(field, e.value().map(v -> v + " ").orElse("") + e.reason());
    }

    // refine / refiner: true|false or the hosted APIs' mode names; the ensemble takes the fraction,
    // the second pass its steps and strength.
    private java.util.Optional<Refiner> refiner(Double fraction, Integer steps, Double strength) {
        JsonNode node = find("refiner", "refine");
        if (node == null) {
            return java.util.Optional.empty();
        }
        String name = used.get("refiner");
        String mode;
        if (node.isBoolean()) {
            mode = node.asBoolean() ? "expert_ensemble_refiner" : "no_refiner";
        } else if (node.isTextual()) {
            mode = node.asText().toLowerCase(Locale.ROOT);
        } else {
            throw new BadRequest(name, "expected true/false or a mode (no_refiner, expert_ensemble_refiner,"
                    + " base_image_refiner)");
        }
        return switch (mode) {
            case "no_refiner", "none", "false" -> java.util.Optional.empty();
            case "expert_ensemble_refiner", "ensemble", "true" -> java.util.Optional.of(fraction == null
                    ? Refiner.ensemble() : Refiner.ensemble().withHighNoiseFraction(fraction));
            case "base_image_refiner", "base_then_refiner" -> {
                Refiner.SecondPass p = Refiner.secondPass();
                p = steps == null ? p : p.withSteps(steps);
                yield java.util.Optional.of(strength == null ? p : p.withStrength(strength));
            }
            default -> throw new BadRequest(name, "'" + node.asText() + "' is not one of no_refiner,"
                    + " expert_ensemble_refiner, base_image_refiner");
        };
    }

    private OutputFormat format() {
        String f = text("output_format", "format");
        if (f == null) {
            return OutputFormat.PNG;
        }
        try {
            return OutputFormat.parse(f);
        } catch (InvalidRequestException e) {
            throw new BadRequest(used.get("output_format"), "'" + f + "' " + e.reason());
        }
    }

    // The image's own errors name the field "image"; a mask's are the mask's.
    private ImageInput image(String key, String value) {
        try {
            return ImageInput.ofBase64(value);
        } catch (InvalidRequestException e) {
            throw new BadRequest(used.get(key), e.value().map(v -> v + " ").orElse("") + e.reason());
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
