// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.CropCoords;
import io.sdxl4j.ImageSize;

/**
 * SDXL's micro-conditioning vectors (Podell et al. 2023, §2.2): the original size, the crop and
 * the target size (base), or the aesthetic score in place of the target size (refiner), each
 * (height, width) pair in diffusers' order.
 */
public final class TimeIds {

    private TimeIds() {
    }

    /** {@code [orig_h, orig_w, crop_top, crop_left, target_h, target_w]}. */
    public static float[] base(ImageSize original, CropCoords crop, ImageSize target) {
        return new float[] {original.height(), original.width(), crop.top(), crop.left(), target.height(),
            target.width()};
    }

    /** {@code [orig_h, orig_w, crop_top, crop_left, aesthetic_score]}. */
    public static float[] refiner(ImageSize original, CropCoords crop, double aestheticScore) {
        return new float[] {original.height(), original.width(), crop.top(), crop.left(), (float) aestheticScore};
    }
}
