// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import io.sdxl4j.InvalidRequestException;
import java.awt.image.BufferedImage;
import java.util.function.UnaryOperator;

/**
 * Masks in the clients' conventions, turned into the library's (white repaints): OpenAI's, whose
 * fully transparent pixels are the area to edit, and AUTOMATIC1111's inverted masks. They need
 * the decoded pixels, so they run as a submission's last step, on the generator thread after
 * admission ({@link GenerationQueue.Submission#finish()}).
 */
final class Masks {

    private Masks() {
    }

    /** Replaces an inpainting request's mask by {@code convert} of its decoded pixels. */
    static UnaryOperator<GenerationRequest> convert(UnaryOperator<BufferedImage> convert) {
        return request -> {
            if (!(request.mode() instanceof GenerationMode.Inpaint i)) {
                return request;
            }
            ImageInput mask = ImageInput.of(convert.apply(i.mask().decodeArgb()));
            return request.toBuilder().mode(GenerationMode.inpaint(i.image(), mask).withStrength(i.strength())
                    .withMaskBlur(i.maskBlur())).build();
        };
    }

    /** White where the pixel is fully transparent (alpha 0), black elsewhere. */
    static BufferedImage fromTransparency(BufferedImage argb) {
        int w = argb.getWidth();
        int h = argb.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        boolean any = false;
        for (int y = 0; y < h; y++) {
            argb.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                boolean clear = (row[x] >>> 24) == 0;
                any |= clear;
                row[x] = clear ? 0xFFFFFF : 0;
            }
            out.setRGB(0, y, w, 1, row, 0, w);
        }
        if (!any) {
            throw new InvalidRequestException("mask", w + "x" + h, "has no fully transparent pixel: nothing to edit"
                    + " (the transparent area of the mask, or of the image without one, is what is repainted)");
        }
        return out;
    }

    /** Black and white swapped. */
    static BufferedImage inverted(BufferedImage argb) {
        int w = argb.getWidth();
        int h = argb.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            argb.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                row[x] = ~row[x] & 0xFFFFFF;
            }
            out.setRGB(0, y, w, 1, row, 0, w);
        }
        return out;
    }
}
