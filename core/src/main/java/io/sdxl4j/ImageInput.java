// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.Locale;
import java.util.Objects;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * An input image (img2img source, inpainting image or mask). Made from encoded bytes, only its
 * header is read — format, width and height, checked against {@link #MAX_PIXELS} — so that an
 * untrusted file declaring a huge size is refused before any pixel is decoded; the pixels are
 * decoded when the pipeline runs the request ({@link #decode()}), and a file whose pixels do not
 * decode fails then, naming the input. Immutable.
 */
public final class ImageInput {

    /** Most pixels an input image may declare (8192 × 8192): a larger one is refused from its header. */
    public static final long MAX_PIXELS = 8192L * 8192L;

    private final byte[] encoded;
    private final BufferedImage image;
    private final String format;
    private final int width;
    private final int height;
    private final String source;

    private ImageInput(byte[] encoded, BufferedImage image, String format, int width, int height, String source) {
        this.encoded = encoded;
        this.image = image;
        this.format = format;
        this.width = width;
        this.height = height;
        this.source = source;
    }

    /** An image already in memory (its alpha, if any, is dropped when decoded). */
    public static ImageInput of(BufferedImage image) {
        Objects.requireNonNull(image, "image");
        checkSize(image.getWidth(), image.getHeight(), "BufferedImage");
        return new ImageInput(null, image, "raw", image.getWidth(), image.getHeight(),
                "BufferedImage " + image.getWidth() + "x" + image.getHeight());
    }

    /**
     * Reads a PNG, JPEG, BMP or GIF file's header (the pixels are decoded when used).
     *
     * @throws InvalidRequestException for the field {@code image} when the file is missing, not an
     *                                 image, or declares more than {@link #MAX_PIXELS} pixels
     */
    public static ImageInput read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new InvalidRequestException("image", file, "cannot be read (" + e.getMessage() + ")");
        }
        return ofBytes(bytes, "image file " + file);
    }

    /**
     * PNG, JPEG, BMP or GIF bytes; only the header is read now.
     *
     * @throws InvalidRequestException for the field {@code image} when the bytes are not an image
     *                                 or declare more than {@link #MAX_PIXELS} pixels
     */
    public static ImageInput ofBytes(byte[] encoded) {
        return ofBytes(encoded.clone(), "image bytes");
    }

    /**
     * Base64 image bytes, optionally as a data URL ({@code data:image/png;base64,...}), as the hosted
     * APIs send them; only the header is read now.
     *
     * @throws InvalidRequestException for the field {@code image} when the text is not base64 of an
     *                                 image, or the image declares more than {@link #MAX_PIXELS} pixels
     */
    public static ImageInput ofBase64(String base64) {
        Objects.requireNonNull(base64, "base64");
        String data = base64.strip();
        if (data.startsWith("data:")) {
            int comma = data.indexOf(',');
            if (comma < 0 || !data.substring(0, comma).endsWith(";base64")) {
                throw new InvalidRequestException("image", data.substring(0, Math.max(comma, 0)),
                        "is a data URL that is not base64-encoded");
            }
            data = data.substring(comma + 1);
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(data.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("image", null, "is not valid base64 (" + e.getMessage() + ")");
        }
        return ofBytes(bytes, "base64 image");
    }

    /** Raw interleaved 8-bit RGB pixels, row by row. */
    public static ImageInput ofRgb(byte[] rgb, int width, int height) {
        if (width < 1 || height < 1 || rgb.length != (long) width * height * 3) {
            throw new InvalidRequestException("image", rgb.length + " bytes", "are not " + width + "x" + height
                    + "x3 RGB values");
        }
        checkSize(width, height, "RGB bytes");
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0, i = 0; y < height; y++) {
            for (int x = 0; x < width; x++, i += 3) {
                row[x] = (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF);
            }
            image.setRGB(0, y, width, 1, row, 0, width);
        }
        return new ImageInput(null, image, "raw", width, height, "RGB bytes " + width + "x" + height);
    }

    // The header only: ImageIO's readers report width and height without decoding the pixels.
    private static ImageInput ofBytes(byte[] bytes, String source) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new InvalidRequestException("image", source, "is not a PNG, JPEG, BMP or GIF image");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                checkSize(w, h, source);
                return new ImageInput(bytes, null, reader.getFormatName().toLowerCase(Locale.ROOT), w, h, source);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidRequestException invalid) {
                throw invalid;
            }
            throw new InvalidRequestException("image", source, "has no readable image header (" + e.getMessage()
                    + ")");
        }
    }

    private static void checkSize(int w, int h, String source) {
        if (w < 1 || h < 1 || (long) w * h > MAX_PIXELS) {
            throw new InvalidRequestException("image", w + "x" + h, "(" + source + ") is beyond the "
                    + MAX_PIXELS / 1_000_000 + " Mpx an input may have");
        }
    }

    /**
     * The pixels as 8-bit RGB (alpha dropped, palettes and grey levels converted, as PIL's
     * {@code convert("RGB")} does for diffusers), decoded now.
     *
     * @throws InvalidRequestException for the field {@code image} when the pixels do not decode or
     *                                 disagree with the header
     */
    public BufferedImage decode() {
        return toRgb(decodeAsIs());
    }

    /**
     * The pixels with their alpha channel ({@code TYPE_INT_ARGB}; opaque when the image has none),
     * decoded now: OpenAI's edit masks mark the area to repaint by transparency.
     *
     * @throws InvalidRequestException for the field {@code image} when the pixels do not decode
     */
    public BufferedImage decodeArgb() {
        return convert(decodeAsIs(), BufferedImage.TYPE_INT_ARGB, 0xFFFFFFFF);
    }

    private BufferedImage decodeAsIs() {
        if (image != null) {
            return image;
        }
        BufferedImage decoded;
        try {
            decoded = ImageIO.read(new ByteArrayInputStream(encoded));
        } catch (IOException | RuntimeException e) {
            throw new InvalidRequestException("image", source, "does not decode (" + e.getMessage() + ")");
        }
        if (decoded == null) {
            throw new InvalidRequestException("image", source, "does not decode");
        }
        if (decoded.getWidth() != width || decoded.getHeight() != height) {
            throw new InvalidRequestException("image", source, "decodes to " + decoded.getWidth() + "x"
                    + decoded.getHeight() + " but its header says " + width + "x" + height);
        }
        return decoded;
    }

    private BufferedImage toRgb(BufferedImage src) {
        return convert(src, BufferedImage.TYPE_INT_RGB, 0xFFFFFF);
    }

    // src as an image of type, row by row, each ARGB value masked (0xFFFFFF drops alpha).
    private BufferedImage convert(BufferedImage src, int type, int mask) {
        if (src.getType() == type) {
            return src;
        }
        BufferedImage out = new BufferedImage(width, height, type);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            src.getRGB(0, y, width, 1, row, 0, width);
            for (int x = 0; x < width; x++) {
                row[x] &= mask;
            }
            out.setRGB(0, y, width, 1, row, 0, width);
        }
        return out;
    }

    /** Width in pixels, from the header. */
    public int width() {
        return width;
    }

    /** Height in pixels, from the header. */
    public int height() {
        return height;
    }

    /** The encoded format as ImageIO names it ({@code png}, {@code jpeg}), or {@code raw} for pixels in memory. */
    public String format() {
        return format;
    }

    /** Where the image came from, for messages. */
    public String source() {
        return source;
    }

    /** Equal when both hold the same encoded bytes (or the same in-memory image). */
    @Override
    public boolean equals(Object o) {
        return o instanceof ImageInput other && (encoded != null
                ? other.encoded != null && java.util.Arrays.equals(encoded, other.encoded) : image == other.image);
    }

    @Override
    public int hashCode() {
        return encoded != null ? java.util.Arrays.hashCode(encoded) : System.identityHashCode(image);
    }

    @Override
    public String toString() {
        return "ImageInput[" + source + ", " + format + " " + width + "x" + height + "]";
    }
}
