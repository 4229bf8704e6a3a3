// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Objects;
import java.util.Optional;

/**
 * A request (or pipeline option) that cannot be served, naming the field at fault, the value given
 * and why: thrown by every check of a request, wherever it runs — when a value or the request is built, when an
 * input image's header is read, and when the pipeline fits the request to its model (a size that
 * is not a multiple of the VAE's scale factor, a refiner the pipeline was loaded without), always
 * before any work. Callers read {@link #field()}, never the message text.
 *
 * <p>Fields are named as the request's builders name them: {@code prompt}, {@code negativePrompt},
 * {@code width}, {@code height}, {@code steps}, {@code guidanceScale}, {@code guidanceRescale},
 * {@code samples}, {@code seed}, {@code scheduler}, {@code timestepSpacing}, {@code clipSkip},
 * {@code style}, the size conditioning's {@code originalSize}, {@code targetSize},
 * {@code cropsCoordsTopLeft} and their {@code negative…} twins, the modes' {@code image},
 * {@code mask}, {@code strength} and {@code maskBlur}, the refiner's {@code refiner},
 * {@code refiner.highNoiseFraction}, {@code refiner.strength}, {@code refiner.steps} and
 * {@code refiner.aestheticScore}, and {@code loras}; the options' {@code engine}, {@code provider},
 * {@code intraOpThreads} and {@code interOpThreads}.
 */
public final class InvalidRequestException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;
    /** Values longer than this are shortened in the exception (a prompt may be megabytes long). */
    private static final int MAX_VALUE_CHARS = 120;

    private final String field;
    private final String value;
    private final String reason;

    /**
     * @param field  the request field, as the builders name it
     * @param value  the value given (shortened when long), or null when the field was missing
     * @param reason why it cannot be served, phrased to follow the value: {@code "is outside [1, 1000]"}
     */
    public InvalidRequestException(String field, Object value, String reason) {
        super(message(field, value, reason));
        this.field = Objects.requireNonNull(field, "field");
        this.value = value == null ? null : shorten(String.valueOf(value));
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    private static String message(String field, Object value, String reason) {
        return value == null ? field + ": " + reason : field + ": " + shorten(String.valueOf(value)) + " " + reason;
    }

    // Head and tail survive: a path's file name and a prompt's start both say what it was.
    private static String shorten(String s) {
        int half = MAX_VALUE_CHARS / 2;
        return s.length() <= MAX_VALUE_CHARS ? s : s.substring(0, half) + "…" + s.substring(s.length() - half);
    }

    /** The field at fault, as the request's builders name it. */
    public String field() {
        return field;
    }

    /** The value given, as text (shortened when long); empty when the field was missing. */
    public Optional<String> value() {
        return Optional.ofNullable(value);
    }

    /** Why the value cannot be served, phrased to follow it ({@code "is outside [1, 1000]"}). */
    public String reason() {
        return reason;
    }
}
