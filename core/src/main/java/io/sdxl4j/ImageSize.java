// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * A size in pixels, used for SDXL's size conditioning ({@code original_size}, {@code target_size}).
 * diffusers writes these as (height, width) tuples; the time ids keep that order.
 */
public record ImageSize(int width, int height) {

    public ImageSize {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("size: " + width + "x" + height + " is not positive");
        }
    }

    @Override
    public String toString() {
        return width + "x" + height;
    }
}
