// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.CropCoords;
import io.sdxl4j.ImageSize;
import io.sdxl4j.SizeConditioning;

/**
 * SDXL's micro-conditioning vectors (Podell et al. 2023, §2.2) for the conditional and the
 * unconditional rows: the original size, the crop and the target size (base), or the aesthetic
 * score in place of the target size (refiner), each (height, width) pair in diffusers' order.
 *
 * @param positive the conditional rows' ids
 * @param negative the unconditional rows' ids
 */
record TimeIds(float[] positive, float[] negative) {

    /**
     * The base's ids. diffusers' text-to-image pipeline uses the negative values only when both the
     * negative original and target sizes are given (else the unconditional rows repeat the conditional
     * ones); its img2img and inpainting pipelines default each missing negative value to its positive
     * twin.
     */
    static TimeIds base(SizeConditioning c, ImageSize image, boolean textToImage) {
        ImageSize original = c.originalSize().orElse(image);
        ImageSize target = c.targetSize().orElse(image);
        float[] positive = base(original, c.cropsCoordsTopLeft(), target);
        float[] negative;
        if (textToImage) {
            negative = c.negativeOriginalSize().isPresent() && c.negativeTargetSize().isPresent()
                    ? base(c.negativeOriginalSize().get(), c.negativeCropsCoordsTopLeft(), c.negativeTargetSize().get())
                    : positive;
        } else {
            negative = base(c.negativeOriginalSize().orElse(original), c.negativeCropsCoordsTopLeft(),
                    c.negativeTargetSize().orElse(target));
        }
        return new TimeIds(positive, negative);
    }

    /** The refiner's ids (diffusers' img2img pipeline with {@code requires_aesthetics_score}). */
    static TimeIds refiner(SizeConditioning c, ImageSize image, double aestheticScore, double negativeAestheticScore) {
        ImageSize original = c.originalSize().orElse(image);
        return new TimeIds(refiner(original, c.cropsCoordsTopLeft(), aestheticScore),
                refiner(c.negativeOriginalSize().orElse(original), c.negativeCropsCoordsTopLeft(),
                        negativeAestheticScore));
    }

    /** {@code [orig_h, orig_w, crop_top, crop_left, target_h, target_w]}. */
    static float[] base(ImageSize original, CropCoords crop, ImageSize target) {
        return new float[] {original.height(), original.width(), crop.top(), crop.left(), target.height(),
            target.width()};
    }

    /** {@code [orig_h, orig_w, crop_top, crop_left, aesthetic_score]}. */
    static float[] refiner(ImageSize original, CropCoords crop, double aestheticScore) {
        return new float[] {original.height(), original.width(), crop.top(), crop.left(), (float) aestheticScore};
    }
}
