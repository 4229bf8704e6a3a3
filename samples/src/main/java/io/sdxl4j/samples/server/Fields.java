// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.ImageInput;
import io.sdxl4j.InvalidRequestException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The fields of one client's JSON object, read with their types checked and every error naming
 * the field as the client spelt it; and the map from the library's field names
 * ({@link InvalidRequestException#field()}) to the client's, so that an error the library raises
 * names the client's field too. Unknown fields are not looked at, as the hosted APIs ignore them.
 */
final class Fields implements FieldNames {

    private final JsonNode body;
    private final int status;
    private final String prefix;
    /** Library field name → the client's name. */
    private final Map<String, String> names = new HashMap<>();

    /**
     * @param status the API's status for a bad field (400, or 422 for the FastAPI-style APIs)
     * @param prefix prepended to every field name in errors ({@code input.} for Cog's envelope), or ""
     */
    Fields(JsonNode body, int status, String prefix) {
        this.body = body;
        this.status = status;
        this.prefix = prefix;
    }

    /** Declares that the library's {@code libraryField} comes from the client's {@code clientField}. */
    Fields name(String libraryField, String clientField) {
        if (clientField != null) {
            names.put(libraryField, clientField);
        }
        return this;
    }

    int status() {
        return status;
    }

    /** The client's spelling of a library field (with the prefix), or the library's name when unmapped. */
    @Override
    public String client(String libraryField) {
        return prefix + names.getOrDefault(libraryField, libraryField);
    }

    /** An error for a client field. */
    ApiError error(String clientField, String message) {
        return new ApiError(status, prefix + clientField, message);
    }

    /** The library's validation error under the client's field name. */
    @Override
    public ApiError invalid(InvalidRequestException e) {
        return new ApiError(status, client(e.field()), e.value().map(v -> v + " ").orElse("") + e.reason());
    }

    boolean has(String key) {
        return node(key) != null;
    }

    JsonNode node(String key) {
        if (key == null) {
            return null;
        }
        JsonNode n = body.get(key);
        return n == null || n.isNull() ? null : n;
    }

    String text(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            throw error(key, "expected a string, got " + type(n));
        }
        return n.asText();
    }

    Integer integer(String key) {
        Long v = longValue(key);
        if (v == null) {
            return null;
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw error(key, v + " is out of range");
        }
        return v.intValue();
    }

    /** An integer within [min, max]. */
    Integer integer(String key, int min, int max) {
        Integer v = integer(key);
        if (v != null && (v < min || v > max)) {
            throw error(key, v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    Long longValue(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return null;
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        if (n.isNumber() && n.asDouble() == Math.rint(n.asDouble()) && Math.abs(n.asDouble()) < 9e15) {
            return (long) n.asDouble();
        }
        throw error(key, "expected an integer, got " + n);
    }

    Double number(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return null;
        }
        if (!n.isNumber()) {
            throw error(key, "expected a number, got " + type(n));
        }
        return n.asDouble();
    }

    /** A number within [min, max]. */
    Double number(String key, double min, double max) {
        Double v = number(key);
        if (v != null && !(v >= min && v <= max)) {
            throw error(key, v + " is outside [" + min + ", " + max + "]");
        }
        return v;
    }

    Boolean bool(String key) {
        JsonNode n = node(key);
        if (n == null) {
            return null;
        }
        if (!n.isBoolean()) {
            throw error(key, "expected true or false, got " + type(n));
        }
        return n.asBoolean();
    }

    /** A base64 image or data URL, its header read (the pixels decode when the pipeline runs). */
    ImageInput image(String key) {
        String value = text(key);
        return value == null ? null : image(key, value);
    }

    ImageInput image(String key, String base64) {
        try {
            return ImageInput.ofBase64(base64);
        } catch (InvalidRequestException e) {
            throw error(key, e.value().map(v -> v + " ").orElse("") + e.reason());
        }
    }

    /** Refuses a field the library cannot serve yet, naming it. */
    void refuse(String key, String why) {
        if (has(key)) {
            throw error(key, why);
        }
    }

    private static String type(JsonNode n) {
        return n.getNodeType().name().toLowerCase(Locale.ROOT);
    }
}
