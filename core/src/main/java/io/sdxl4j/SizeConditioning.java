// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Objects;
import java.util.Optional;

/**
 * SDXL's micro-conditioning on sizes (Podell et al. 2023, §2.2), one value for the whole set
 * diffusers takes: {@code original_size}, {@code crops_coords_top_left}, {@code target_size} and
 * their {@code negative_} twins for the unconditional rows. An absent size is the image's own.
 *
 * <p>diffusers' text-to-image pipeline uses the negative values only when both the negative
 * original size and the negative target size are given (the unconditional rows otherwise repeat
 * the conditional ones); its img2img and inpainting pipelines default each missing negative
 * value to its positive twin. sdxl4j follows each pipeline. The refiner's rows take the original
 * size and crop (with the aesthetic score in place of the target size).
 *
 * @param originalSize               {@code original_size}; empty: the image size
 * @param cropsCoordsTopLeft         {@code crops_coords_top_left}; default (0, 0)
 * @param targetSize                 {@code target_size}; empty: the image size
 * @param negativeOriginalSize       {@code negative_original_size}
 * @param negativeCropsCoordsTopLeft {@code negative_crops_coords_top_left}; default (0, 0)
 * @param negativeTargetSize         {@code negative_target_size}
 */
public record SizeConditioning(Optional<ImageSize> originalSize, CropCoords cropsCoordsTopLeft,
                               Optional<ImageSize> targetSize, Optional<ImageSize> negativeOriginalSize,
                               CropCoords negativeCropsCoordsTopLeft, Optional<ImageSize> negativeTargetSize) {

    /** Every size the image's, no crop: what diffusers uses when none is given. */
    public static final SizeConditioning DEFAULT = builder().build();

    public SizeConditioning {
        Objects.requireNonNull(originalSize, "originalSize");
        Objects.requireNonNull(cropsCoordsTopLeft, "cropsCoordsTopLeft");
        Objects.requireNonNull(targetSize, "targetSize");
        Objects.requireNonNull(negativeOriginalSize, "negativeOriginalSize");
        Objects.requireNonNull(negativeCropsCoordsTopLeft, "negativeCropsCoordsTopLeft");
        Objects.requireNonNull(negativeTargetSize, "negativeTargetSize");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link SizeConditioning}; every value is optional. */
    public static final class Builder {
        private ImageSize originalSize;
        private CropCoords crop = CropCoords.NONE;
        private ImageSize targetSize;
        private ImageSize negativeOriginalSize;
        private CropCoords negativeCrop = CropCoords.NONE;
        private ImageSize negativeTargetSize;

        private Builder() {
        }

        public Builder originalSize(ImageSize value) {
            this.originalSize = Objects.requireNonNull(value, "originalSize");
            return this;
        }

        public Builder cropsCoordsTopLeft(CropCoords value) {
            this.crop = Objects.requireNonNull(value, "cropsCoordsTopLeft");
            return this;
        }

        public Builder targetSize(ImageSize value) {
            this.targetSize = Objects.requireNonNull(value, "targetSize");
            return this;
        }

        public Builder negativeOriginalSize(ImageSize value) {
            this.negativeOriginalSize = Objects.requireNonNull(value, "negativeOriginalSize");
            return this;
        }

        public Builder negativeCropsCoordsTopLeft(CropCoords value) {
            this.negativeCrop = Objects.requireNonNull(value, "negativeCropsCoordsTopLeft");
            return this;
        }

        public Builder negativeTargetSize(ImageSize value) {
            this.negativeTargetSize = Objects.requireNonNull(value, "negativeTargetSize");
            return this;
        }

        public SizeConditioning build() {
            return new SizeConditioning(Optional.ofNullable(originalSize), crop, Optional.ofNullable(targetSize),
                    Optional.ofNullable(negativeOriginalSize), negativeCrop, Optional.ofNullable(negativeTargetSize));
        }
    }
}
