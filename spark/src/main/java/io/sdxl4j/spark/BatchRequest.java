// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Lora;
import io.sdxl4j.samples.server.RequestParser;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One line of the batch: a JSON object in the native API's vocabulary ({@code POST /v1/generate}:
 * {@code prompt}, {@code negative_prompt}, {@code width}, {@code height}, {@code steps},
 * {@code guidance_scale}, {@code seed}, {@code scheduler}, {@code style}, {@code loras},
 * {@code image}, {@code strength}, {@code mask} …, read by the server's own {@link RequestParser}),
 * plus the request's {@code id}, which names its image ({@code <id>.png}).
 *
 * <p>Two rules the server does not have: a request without a seed (or with −1) gets one derived
 * from its id, so that a task that runs again draws the same image; and {@code image} and
 * {@code mask} may be a path or URI that Hadoop's file system reads (each executor reads its own
 * rows' images), besides base64.
 */
final class BatchRequest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A file name on every file system: letters, digits, '.', '_', '-', not starting with '.'. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}");
    /** Longer values are base64 images, not paths. */
    private static final int MAX_PATH = 4096;
    private static final List<String> IMAGE_FIELDS = List.of("image", "image_b64", "init_image", "mask", "mask_b64",
            "mask_image");

    /** A request that cannot be generated, naming the field (as the line spelt it). */
    static final class Invalid extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String id;
        final String field;
        final Long seed;

        Invalid(String id, String field, Long seed, String message) {
            super(message, null, false, false);
            this.id = id;
            this.field = field;
            this.seed = seed;
        }
    }

    /**
     * A request ready to run.
     *
     * @param id      the request's id
     * @param request the request, its seed fixed
     * @param parsed  the parser's view, to name fields of later validation errors as the line did
     */
    record Parsed(String id, GenerationRequest request, RequestParser.Parsed parsed) {

        long seed() {
            return request.seed().orElseThrow();
        }

        /** The pipeline's validation error under the line's field name. */
        Invalid invalid(InvalidRequestException e) {
            return new Invalid(id, parsed.client(e.field()), seed(), e.value().map(v -> v + " ").orElse("")
                    + e.reason());
        }
    }

    private BatchRequest() {
    }

    /** The JSON object of a line; {@link Invalid} when it is none. */
    static ObjectNode object(String json) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new Invalid(null, "body", null, "not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new Invalid(null, "body", null, "expected a JSON object");
        }
        return (ObjectNode) node;
    }

    /** The request's id; {@link Invalid} naming {@code id} when it is missing or not a file name. */
    static String id(ObjectNode body) {
        JsonNode n = body.get("id");
        if (n == null || n.isNull()) {
            throw new Invalid(null, "id", null, "missing: every request needs an id, which names its image");
        }
        String id = n.isTextual() ? n.asText() : n.isIntegralNumber() ? n.asText() : null;
        if (id == null || !ID.matcher(id).matches()) {
            throw new Invalid(null, "id", null, n + " is not a file name (letters, digits, '.', '_', '-',"
                    + " at most 200, not starting with '.')");
        }
        return id;
    }

    /**
     * The key the job groups requests by: the request's LoRA set ({@code name:scale,…} in the
     * request's order, which is the merge's order), "" for none or for a line that does not parse
     * (whose error the generation step reports). Reads no image.
     */
    static String loraKey(ObjectNode body) {
        try {
            ObjectNode copy = body.deepCopy();
            IMAGE_FIELDS.forEach(copy::remove);
            return key(RequestParser.parse(copy, Long.MAX_VALUE).request().loras());
        } catch (RuntimeException e) {
            return "";
        }
    }

    static String key(List<Lora> loras) {
        return loras.stream().map(l -> l.file() + ":" + l.scale()).collect(Collectors.joining(","));
    }

    /**
     * Parses a line into a request with its seed fixed.
     *
     * @param readFile the bytes of a file named by {@code image} or {@code mask}, or empty when the value
     *                 names no file (it is then read as base64)
     * @throws Invalid naming the field at fault
     */
    static Parsed parse(String json, Function<String, Optional<byte[]>> readFile) {
        ObjectNode body = object(json);
        String id = id(body);
        long seed = seed(id, body);
        for (String field : IMAGE_FIELDS) {
            JsonNode v = body.get(field);
            if (v != null && v.isTextual() && v.asText().length() <= MAX_PATH && !v.asText().startsWith("data:")) {
                Optional<byte[]> bytes = readFile.apply(v.asText());
                bytes.ifPresent(b -> body.put(field, Base64.getEncoder().encodeToString(b)));
            }
        }
        RequestParser.Parsed parsed;
        try {
            parsed = RequestParser.parse(body, Long.MAX_VALUE);
        } catch (RequestParser.BadRequest e) {
            throw new Invalid(id, e.field(), seed, e.getMessage());
        }
        GenerationRequest request = parsed.request();
        if (request.samples() != 1) {
            throw new Invalid(id, parsed.client("samples"), seed, request.samples()
                    + " images: a batch line makes one image (give each its own line and id)");
        }
        if (request.seed().isEmpty()) {
            request = request.toBuilder().seed(seed).build();
        }
        return new Parsed(id, request, parsed);
    }

    // The line's seed, or (absent or −1, the hosted APIs' "random") one derived from the id: the first
    // 32 bits of its SHA-256, a seed A1111 and ComfyUI can take too.
    private static long seed(String id, ObjectNode body) {
        JsonNode n = body.get("seed");
        if (n != null && n.isIntegralNumber() && n.asLong() >= 0) {
            return n.asLong();
        }
        return derivedSeed(id);
    }

    /** The seed of a request that gives none: a function of its id alone. */
    static long derivedSeed(String id) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return ((h[0] & 0xFFL) << 24) | ((h[1] & 0xFFL) << 16) | ((h[2] & 0xFFL) << 8) | (h[3] & 0xFFL);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
