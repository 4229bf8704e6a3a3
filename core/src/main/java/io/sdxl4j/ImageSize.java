// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * A size in pixels: an image's, or one of SDXL's size conditionings ({@code original_size},
 * {@code target_size}). diffusers writes the conditionings as (height, width) tuples; the time ids
 * keep that order.
 */
public record ImageSize(int width, int height) {

    /**
     * @throws InvalidRequestException for the field {@code size} when a side is not positive
     */
    public ImageSize {
        if (width < 1 || height < 1) {
            throw new InvalidRequestException("size", width + "x" + height, "is not positive");
        }
    }

    /** Pixels in all. */
    public long pixels() {
        return (long) width * height;
    }

    @Override
    public String toString() {
        return width + "x" + height;
    }
}
