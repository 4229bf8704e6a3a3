// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The server's JSON: strict on what it reads (a duplicated key or anything after the top-level
 * value is refused, as a second {@code "width"} must not silently win), with Jackson's string
 * length limit raised to the body limit so that a base64 image as large as the body may be is
 * read, not refused as "malformed".
 */
final class Json {

    /** For writing answers. */
    static final ObjectMapper OUT = new ObjectMapper();

    private final ObjectMapper in;

    Json(long maxBodyBytes) {
        int maxString = (int) Math.min(Integer.MAX_VALUE - 16, Math.max(maxBodyBytes, 1 << 20));
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(maxString).build())
                .build();
        this.in = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /**
     * The body as one JSON object.
     *
     * @throws ApiError 400 naming {@code body} when it is not exactly one JSON object
     */
    ObjectNode object(byte[] body, int status) {
        JsonNode node;
        try {
            node = in.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiError(status, "body", "malformed JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new ApiError(status, "body", "unreadable JSON");
        }
        if (node == null || !node.isObject()) {
            throw new ApiError(status, "body", "expected a JSON object");
        }
        return (ObjectNode) node;
    }

    static ObjectNode object() {
        return OUT.createObjectNode();
    }

    static byte[] bytes(JsonNode node) {
        try {
            return OUT.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
