// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Objects;
import javax.imageio.ImageIO;

/**
 * An input image (img2img source, inpainting image or mask), decoded when made, so that an image
 * that does not decode fails at once with a message saying which input it was.
 */
public final class ImageInput {

    private final BufferedImage image;
    private final String source;

    private ImageInput(BufferedImage image, String source) {
        this.image = image;
        this.source = source;
    }

    /** An image already in memory. */
    public static ImageInput of(BufferedImage image) {
        Objects.requireNonNull(image, "image");
        return new ImageInput(toRgb(image), "BufferedImage " + image.getWidth() + "x" + image.getHeight());
    }

    /**
     * Reads a PNG, JPEG, BMP or GIF file.
     *
     * @throws IllegalArgumentException naming the file when it is missing or does not decode
     */
    public static ImageInput read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("image file " + file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return decode(bytes, "image file " + file);
    }

    /** Decodes PNG, JPEG, BMP or GIF bytes. */
    public static ImageInput ofBytes(byte[] encoded) {
        return decode(encoded, "image bytes");
    }

    /**
     * Decodes base64 image bytes, optionally as a data URL ({@code data:image/png;base64,...}), as
     * the hosted APIs accept them.
     */
    public static ImageInput ofBase64(String base64) {
        Objects.requireNonNull(base64, "base64");
        String data = base64.strip();
        if (data.startsWith("data:")) {
            int comma = data.indexOf(',');
            if (comma < 0 || !data.substring(0, comma).endsWith(";base64")) {
                throw new IllegalArgumentException("image data URL: not base64-encoded");
            }
            data = data.substring(comma + 1);
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(data.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("image base64: not valid base64 (" + e.getMessage() + ")", e);
        }
        return decode(bytes, "base64 image");
    }

    /** Raw interleaved 8-bit RGB pixels, row by row. */
    public static ImageInput ofRgb(byte[] rgb, int width, int height) {
        if (width < 1 || height < 1 || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("image rgb: " + rgb.length + " bytes for " + width + "x" + height
                    + "x3");
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0, i = 0; y < height; y++) {
            for (int x = 0; x < width; x++, i += 3) {
                image.setRGB(x, y, (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF));
            }
        }
        return new ImageInput(image, "RGB bytes " + width + "x" + height);
    }

    private static ImageInput decode(byte[] bytes, String source) {
        BufferedImage image;
        try {
            image = ImageIO.read(new ByteArrayInputStream(bytes));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(source + ": does not decode as an image (" + e.getMessage() + ")", e);
        }
        if (image == null) {
            throw new IllegalArgumentException(source + ": not a PNG, JPEG, BMP or GIF image");
        }
        return new ImageInput(toRgb(image), source);
    }

    // Drops alpha and converts palettes and grey levels to RGB, as PIL's convert("RGB") does for diffusers.
    private static BufferedImage toRgb(BufferedImage image) {
        if (image.getType() == BufferedImage.TYPE_INT_RGB) {
            return image;
        }
        BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                rgb.setRGB(x, y, image.getRGB(x, y) & 0xFFFFFF);
            }
        }
        return rgb;
    }

    /** The pixels as 8-bit RGB. */
    public BufferedImage image() {
        return image;
    }

    public int width() {
        return image.getWidth();
    }

    public int height() {
        return image.getHeight();
    }

    /** Where the image came from, for messages. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "ImageInput[" + source + ", " + width() + "x" + height() + "]";
    }
}
