// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.image.ImageEncoder;
import io.sdxl4j.image.Images;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;

/**
 * One generated image: float RGB pixels in [0, 1] (diffusers' {@code output_type="np"}), with the
 * seed and the A1111-style parameters text that goes into its file's metadata.
 */
public final class GeneratedImage {

    private final int index;
    private final int width;
    private final int height;
    private final float[] pixels;
    private final long seed;
    private final String parameters;
    private final Duration duration;

    GeneratedImage(int index, int width, int height, float[] pixels, long seed, String parameters, Duration duration) {
        this.index = index;
        this.width = width;
        this.height = height;
        this.pixels = pixels;
        this.seed = seed;
        this.parameters = parameters;
        this.duration = duration;
    }

    /** Time from the start of the generation to this image's latents (the batch's images share one run). */
    public Duration duration() {
        return duration;
    }

    /** Position in the request's batch, from 0. */
    public int index() {
        return index;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The seed of the generation (every image of a batch shares one generator, as in diffusers). */
    public long seed() {
        return seed;
    }

    /** The parameters text embedded in PNG and JPEG output. */
    public String parameters() {
        return parameters;
    }

    /** The pixels, HWC order, RGB, in [0, 1]; a copy. */
    public float[] pixels() {
        return pixels.clone();
    }

    /** The image as 8-bit RGB. */
    public BufferedImage toBufferedImage() {
        return Images.toBufferedImage(pixels, width, height);
    }

    /** PNG bytes with the parameters in a text chunk. */
    public byte[] toPng() {
        return ImageEncoder.png(toBufferedImage(), parameters);
    }

    /** JPEG bytes at {@code quality} in (0, 1], with the parameters in a comment. */
    public byte[] toJpeg(float quality) {
        return ImageEncoder.jpeg(toBufferedImage(), quality, parameters);
    }

    /** The image encoded in {@code format} (JPEG at quality 0.95). */
    public byte[] encode(OutputFormat format) {
        return ImageEncoder.encode(toBufferedImage(), format, parameters);
    }

    /** The encoded image (PNG, or JPEG at quality 0.95) as base64, as the hosted APIs return it. */
    public String toBase64(OutputFormat format) {
        return Base64.getEncoder().encodeToString(encode(format));
    }

    /** Writes a PNG or JPEG (quality 0.95), chosen by the file's extension. */
    public void write(Path file) throws IOException {
        Files.write(file, encode(OutputFormat.forFileName(file.toString())));
    }
}
