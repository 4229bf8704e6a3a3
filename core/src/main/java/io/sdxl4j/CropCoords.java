// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/** SDXL's crop conditioning ({@code crops_coords_top_left}): (0, 0) asks for a centred, uncropped look. */
public record CropCoords(int top, int left) {

    /** No crop. */
    public static final CropCoords NONE = new CropCoords(0, 0);

    /**
     * @throws InvalidRequestException for the field {@code cropsCoordsTopLeft} when negative
     */
    public CropCoords {
        if (top < 0 || left < 0) {
            throw new InvalidRequestException("cropsCoordsTopLeft", "(" + top + ", " + left + ")", "is negative");
        }
    }
}
