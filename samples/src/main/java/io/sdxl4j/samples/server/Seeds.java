// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;

/** Reading the fields most hosted APIs share, under each API's own names. */
final class Seeds {

    private Seeds() {
    }

    /**
     * Sets the negative prompt, size, steps, guidance and seed from the named fields (a null name:
     * the API has no such field); a seed of -1 is random, as the hosted APIs have it.
     */
    static void common(Fields f, GenerationRequest.Builder b, String negative, String width, String height,
                       String steps, String guidance, String seed) {
        f.name("width", width).name("height", height).name("seed", seed);
        String n = negative == null ? null : f.text(negative);
        if (n != null) {
            b.negativePrompt(n);
        }
        Integer w = f.integer(width);
        Integer h = f.integer(height);
        if (w != null) {
            b.width(w);
        }
        if (h != null) {
            b.height(h);
        }
        Integer s = f.integer(steps);
        if (s != null) {
            b.steps(s);
        }
        Double g = f.number(guidance);
        if (g != null) {
            b.guidanceScale(g);
        }
        Long sd = f.longValue(seed);
        if (sd != null && sd != -1) {
            b.seed(sd);
        }
    }

    /** An image given as an array of 0–255 integers (the file's bytes), as Cloudflare sends it. */
    static ImageInput byteArray(Fields f, String key) {
        JsonNode n = f.node(key);
        if (n == null) {
            return null;
        }
        if (!n.isArray()) {
            throw f.error(key, "expected an array of integers 0-255 (the image file's bytes)");
        }
        byte[] bytes = new byte[n.size()];
        for (int i = 0; i < bytes.length; i++) {
            JsonNode v = n.get(i);
            if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0 || v.asInt() > 255) {
                throw f.error(key, "item " + i + " is " + v + ", not an integer 0-255");
            }
            bytes[i] = (byte) v.asInt();
        }
        try {
            return ImageInput.ofBytes(bytes);
        } catch (io.sdxl4j.InvalidRequestException e) {
            throw f.error(key, e.value().map(v -> v + " ").orElse("") + e.reason());
        }
    }
}
