// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Locale;

/** The encodings of generated images; both carry the generation parameters as A1111 writes them. */
public enum OutputFormat {
    /** PNG, parameters in a {@code parameters} text chunk. */
    PNG,
    /** JPEG at quality 0.95, parameters in a comment. */
    JPEG;

    /**
     * The format a file name's extension asks for ({@code .png}, {@code .jpg}, {@code .jpeg}).
     *
     * @throws InvalidRequestException for the field {@code output} for another extension
     */
    public static OutputFormat forFileName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".png")) {
            return PNG;
        }
        if (lower.endsWith(".jpg") || lower.endsWith(".jpeg")) {
            return JPEG;
        }
        throw new InvalidRequestException("output", name, "is neither .png nor .jpg/.jpeg");
    }

    /**
     * The format of a name ({@code png}, {@code jpeg}, {@code jpg}), case-insensitive.
     *
     * @throws InvalidRequestException for the field {@code outputFormat}
     */
    public static OutputFormat parse(String name) {
        return switch (name == null ? "" : name.strip().toLowerCase(Locale.ROOT)) {
            case "png" -> PNG;
            case "jpeg", "jpg" -> JPEG;
            default -> throw new InvalidRequestException("outputFormat", name, "is not png or jpeg");
        };
    }

    /** The MIME type. */
    public String mimeType() {
        return this == PNG ? "image/png" : "image/jpeg";
    }
}
