// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * What a request starts from, each mode with exactly its own fields: text alone
 * ({@link TextToImage}), an image to transform ({@link ImageToImage}: image, strength), or an
 * image with a mask of the region to repaint ({@link Inpaint}: image, mask, strength, mask blur),
 * as diffusers' three SDXL pipelines.
 */
public sealed interface GenerationMode {

    /** Text to image: the latents start as pure noise. */
    static TextToImage textToImage() {
        return TextToImage.INSTANCE;
    }

    /** img2img from {@code image} with the default strength 0.8. */
    static ImageToImage imageToImage(ImageInput image) {
        return new ImageToImage(image, ImageToImage.DEFAULT_STRENGTH);
    }

    /** Inpainting of {@code image} where {@code mask} is white, default strength 0.9999 and no mask blur. */
    static Inpaint inpaint(ImageInput image, ImageInput mask) {
        return new Inpaint(image, mask, Inpaint.DEFAULT_STRENGTH, 0);
    }

    /** Text to image ({@code StableDiffusionXLPipeline}). */
    record TextToImage() implements GenerationMode {
        static final TextToImage INSTANCE = new TextToImage();

        @Override
        public String toString() {
            return "txt2img";
        }
    }

    /**
     * img2img ({@code StableDiffusionXLImg2ImgPipeline}): the image is encoded, noised to the level
     * where the last {@code ⌊steps · strength⌋} steps begin, and denoised from there. The output takes
     * the image's size (rounded down to a multiple of the VAE's scale factor) unless the request sets one.
     *
     * @param image    the source image
     * @param strength how much of the schedule runs, in (0, 1]: 1 starts from pure noise. Default 0.8
     *                 (the hosted APIs' {@code prompt_strength})
     */
    record ImageToImage(ImageInput image, double strength) implements GenerationMode {
        /** The default strength. */
        public static final double DEFAULT_STRENGTH = 0.8;

        /**
         * @throws InvalidRequestException for {@code image} when null, {@code strength} outside (0, 1]
         */
        public ImageToImage {
            if (image == null) {
                throw new InvalidRequestException("image", null, "missing");
            }
            checkStrength(strength);
        }

        /** The same image with another strength. */
        public ImageToImage withStrength(double value) {
            return new ImageToImage(image, value);
        }
    }

    /**
     * Inpainting ({@code StableDiffusionXLInpaintPipeline}): white in the mask is repainted, black
     * kept. Both 4-channel SDXL UNets (the kept region re-blended after every step) and 9-channel
     * inpainting UNets (mask and masked image as extra inputs) are served. Image and mask are each
     * resized to the output size, which is the image's (rounded down to a multiple of the VAE's
     * scale factor) unless the request sets one.
     *
     * @param image    the source image
     * @param mask     the mask: white repaints, black keeps
     * @param strength how much of the schedule runs, in (0, 1]. Default 0.9999, diffusers' (1.0 starts from
     *                 pure noise and, with a 9-channel UNet, never encodes the source image)
     * @param maskBlur radius of PIL's Gaussian blur applied to the mask before it is binarised
     *                 (diffusers' {@code mask_processor.blur}), 0 to 64. Default 0
     */
    record Inpaint(ImageInput image, ImageInput mask, double strength, int maskBlur) implements GenerationMode {
        /** The default strength. */
        public static final double DEFAULT_STRENGTH = 0.9999;
        /** The largest mask blur radius. */
        public static final int MAX_MASK_BLUR = 64;

        /**
         * @throws InvalidRequestException for {@code image} or {@code mask} when null, {@code strength}
         *                                 outside (0, 1], {@code maskBlur} outside [0, 64]
         */
        public Inpaint {
            if (image == null) {
                throw new InvalidRequestException("image", null, "missing");
            }
            if (mask == null) {
                throw new InvalidRequestException("mask", null, "missing");
            }
            checkStrength(strength);
            if (maskBlur < 0 || maskBlur > MAX_MASK_BLUR) {
                throw new InvalidRequestException("maskBlur", maskBlur, "is outside [0, " + MAX_MASK_BLUR + "]");
            }
        }

        /** The same inputs with another strength. */
        public Inpaint withStrength(double value) {
            return new Inpaint(image, mask, value, maskBlur);
        }

        /** The same inputs with a mask blur radius. */
        public Inpaint withMaskBlur(int radius) {
            return new Inpaint(image, mask, strength, radius);
        }
    }

    private static void checkStrength(double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new InvalidRequestException("strength", strength, "is outside (0, 1]");
        }
    }
}
