// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;

class ImageEncoderTest {

    private static final BufferedImage IMAGE = Images.toBufferedImage(new float[] {0, 0.5f, 1, 1, 0.5f, 0}, 2, 1);

    @Test
    void roundsPixelsHalfToEvenLikeNumpy() {
        assertEquals(255, IMAGE.getRGB(0, 0) & 0xFF, "blue 1.0 -> 255");
        // 0.5 * 255 = 127.5 rounds to 128 (even).
        assertEquals(128, (IMAGE.getRGB(0, 0) >> 8) & 0xFF);
        assertEquals(255, (IMAGE.getRGB(1, 0) >> 16) & 0xFF);
    }

    @Test
    void nonLatinParametersGoIntoAnInternationalTextChunk() throws IOException {
        String params = "日本の城\nSteps: 4";
        IIOMetadataNode root = pngMetadata(ImageEncoder.png(IMAGE, params));
        IIOMetadataNode entry = (IIOMetadataNode) root.getElementsByTagName("iTXtEntry").item(0);
        assertEquals("parameters", entry.getAttribute("keyword"));
        assertEquals(params, entry.getAttribute("text"));
    }

    @Test
    void jpegCarriesTheParametersInAComment() throws IOException {
        byte[] jpeg = ImageEncoder.jpeg(IMAGE, 0.9f, "a cat\nSteps: 4");
        String text = new String(jpeg, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("a cat\nSteps: 4"));
        assertEquals(2, ImageIO.read(new ByteArrayInputStream(jpeg)).getWidth());
        assertThrows(IllegalArgumentException.class, () -> ImageEncoder.jpeg(IMAGE, 0f, null));
    }

    private static IIOMetadataNode pngMetadata(byte[] png) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            reader.setInput(in);
            return (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
        }
    }
}
