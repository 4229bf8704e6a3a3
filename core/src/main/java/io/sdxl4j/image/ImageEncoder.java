// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import io.sdxl4j.OutputFormat;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * PNG and JPEG encoding with the generation parameters embedded as A1111 does: a PNG text chunk
 * keyed {@code parameters} ({@code tEXt}, or {@code iTXt} when the text is not Latin-1), a JPEG
 * comment ({@code COM}, UTF-8).
 */
public final class ImageEncoder {

    private ImageEncoder() {
    }

    /** PNG bytes with a {@code parameters} text chunk (none when {@code parameters} is null). */
    public static byte[] png(BufferedImage image, String parameters) {
        ImageWriter writer = writer("png");
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), param);
            if (parameters != null) {
                String format = "javax_imageio_png_1.0";
                IIOMetadataNode root = new IIOMetadataNode(format);
                if (isLatin1(parameters)) {
                    IIOMetadataNode text = new IIOMetadataNode("tEXt");
                    IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                    entry.setAttribute("keyword", "parameters");
                    entry.setAttribute("value", parameters);
                    text.appendChild(entry);
                    root.appendChild(text);
                } else {
                    IIOMetadataNode text = new IIOMetadataNode("iTXt");
                    IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                    entry.setAttribute("keyword", "parameters");
                    entry.setAttribute("compressionFlag", "FALSE");
                    entry.setAttribute("compressionMethod", "0");
                    entry.setAttribute("languageTag", "");
                    entry.setAttribute("translatedKeyword", "");
                    entry.setAttribute("text", parameters);
                    text.appendChild(entry);
                    root.appendChild(text);
                }
                meta.mergeTree(format, root);
            }
            return write(writer, image, meta, param);
        } catch (IIOInvalidTreeException e) {
            throw new IllegalStateException("PNG metadata rejected", e);
        } finally {
            writer.dispose();
        }
    }

    /** JPEG bytes at {@code quality} in (0, 1], with a comment holding {@code parameters} (none when null). */
    public static byte[] jpeg(BufferedImage image, float quality, String parameters) {
        if (!(quality > 0 && quality <= 1)) {
            throw new IllegalArgumentException("quality: " + quality + " is outside (0, 1]");
        }
        ImageWriter writer = writer("jpeg");
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality);
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), param);
            if (parameters != null) {
                String format = "javax_imageio_jpeg_image_1.0";
                Node root = meta.getAsTree(format);
                NodeList sequences = ((IIOMetadataNode) root).getElementsByTagName("markerSequence");
                IIOMetadataNode com = new IIOMetadataNode("com");
                com.setUserObject(parameters.getBytes(StandardCharsets.UTF_8));
                sequences.item(0).appendChild(com);
                meta.setFromTree(format, root);
            }
            return write(writer, image, meta, param);
        } catch (IIOInvalidTreeException e) {
            throw new IllegalStateException("JPEG metadata rejected", e);
        } finally {
            writer.dispose();
        }
    }

    /** Encodes in {@code format} (JPEG at quality 0.95). */
    public static byte[] encode(BufferedImage image, OutputFormat format, String parameters) {
        return format == OutputFormat.PNG ? png(image, parameters) : jpeg(image, 0.95f, parameters);
    }

    private static byte[] write(ImageWriter writer, BufferedImage image, IIOMetadata meta, ImageWriteParam param) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(image, null, meta), param);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding to memory failed", e);
        }
        return bytes.toByteArray();
    }

    private static ImageWriter writer(String format) {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName(format);
        if (!writers.hasNext()) {
            throw new IllegalStateException("no ImageIO writer for " + format);
        }
        return writers.next();
    }

    private static boolean isLatin1(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) {
                return false;
            }
        }
        return true;
    }
}
