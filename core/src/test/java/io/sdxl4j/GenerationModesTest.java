// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.image.ImageEncoder;
import io.sdxl4j.model.FakeUnets;
import io.sdxl4j.model.ModelCopies;
import io.sdxl4j.text.PromptMode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** img2img, inpainting, the refiner, prompt modes and styles beyond the conformance cases, and their bad inputs. */
class GenerationModesTest {

    private static final Path CASES = TestData.conformance().resolve("cases");
    private static final ImageInput SOURCE = ImageInput.read(CASES.resolve("inpaint_euler_s099/input_image.png"));
    private static final ImageInput MASK = ImageInput.read(CASES.resolve("inpaint_euler_s099/mask_image.png"));
    private static SdxlPipeline pipeline;

    @BeforeAll
    static void load() {
        pipeline = SdxlPipeline.load(TestData.tinyModel(), TestData.conformance().resolve("models/sdxl-tiny-refiner"),
                PipelineOptions.defaults());
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    @AfterEach
    void thePipelineStillGenerates() {
        assertEquals(1, pipeline.generate(GenerationRequest.builder("ok").steps(2).seed(1).build()).images().size());
    }

    private static GenerationRequest.Builder quick() {
        return GenerationRequest.builder("a red apple").negativePrompt("blurry").steps(6).seed(4);
    }

    @Test
    void img2imgStrengthDecidesHowMuchOfTheScheduleRuns() {
        int[] steps = new int[1];
        float[] weak = pipeline.generate(quick().image(SOURCE).strength(0.3).build(), p -> steps[0] = p.totalSteps())
                .image().pixels();
        assertEquals(1, steps[0], "strength 0.3 of 6 steps runs int(1.8) = 1");
        float[] strong = pipeline.generate(quick().image(SOURCE).strength(1.0).build()).image().pixels();
        assertFalse(Arrays.equals(weak, strong));
    }

    @Test
    void img2imgTakesTheImagesSizeRoundedDownOrResizesToTheRequestedOne() {
        BufferedImage odd = ImageProcessingFixtures.gradient(70, 67);
        GenerationResult r = pipeline.generate(quick().image(ImageInput.of(odd)).build());
        assertEquals(64, r.width());
        assertEquals(64, r.height());
        r = pipeline.generate(quick().image(ImageInput.of(odd)).size(48, 32).build());
        assertEquals(48 * 32 * 3, r.image().pixels().length);
    }

    @Test
    void aMaskThatKeepsEverythingLeavesThePromptNoSay() {
        BufferedImage black = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        float[] a = pipeline.generate(quick().image(SOURCE).mask(ImageInput.of(black)).build()).image().pixels();
        float[] b = pipeline.generate(quick().prompt("a green pear").image(SOURCE).mask(ImageInput.of(black)).build())
                .image().pixels();
        assertArrayEquals(a, b);
        float[] repainted = pipeline.generate(quick().image(SOURCE).mask(MASK).build()).image().pixels();
        assertFalse(Arrays.equals(a, repainted));
    }

    @Test
    void maskBlurChangesTheInpaintedRegion() {
        float[] sharp = pipeline.generate(quick().image(SOURCE).mask(MASK).build()).image().pixels();
        GenerationResult blurred = pipeline.generate(quick().image(SOURCE).mask(MASK).maskBlur(8).build());
        assertFalse(Arrays.equals(sharp, blurred.image().pixels()));
        assertTrue(blurred.image().parameters().contains("Mask blur: 8"), blurred.image().parameters());
    }

    @Test
    void bothRefinerModesRunAfterTheBase() {
        int[] total = new int[1];
        GenerationResult ensemble = pipeline.generate(quick().steps(10).refiner(RefinerMode.ENSEMBLE)
                .highNoiseFraction(0.8).build(), p -> total[0] = p.totalSteps());
        assertEquals(10, total[0], "8 base steps and 2 refiner steps");
        assertTrue(ensemble.image().parameters().contains("Refiner: sdxl-tiny-refiner, Refiner switch at: 0.8"),
                ensemble.image().parameters());
        pipeline.generate(quick().steps(8).refiner(RefinerMode.BASE_THEN_REFINER).refinerStrength(0.5)
                .refinerSteps(4).build(), p -> total[0] = p.totalSteps());
        assertEquals(10, total[0], "8 base steps and int(4 * 0.5) = 2 refiner steps");
    }

    @Test
    void a1111PromptsOfAnyLengthGenerate() {
        String longPrompt = "a ((red)) apple on a [wooden] table, (soft light:1.2), ".repeat(8);
        GenerationResult r = pipeline.generate(quick().prompt(longPrompt).promptMode(PromptMode.A1111).build());
        assertEquals(1, r.images().size());
        float[] plain = pipeline.generate(quick().prompt("a red apple").promptMode(PromptMode.A1111).build())
                .image().pixels();
        float[] weighted = pipeline.generate(quick().prompt("a (red:1.6) apple").promptMode(PromptMode.A1111)
                .build()).image().pixels();
        assertFalse(Arrays.equals(plain, weighted));
    }

    @Test
    void aStyleWrapsThePromptAndIsRecorded() {
        GenerationResult r = pipeline.generate(quick().style("cinematic").build());
        assertTrue(r.image().parameters().startsWith("cinematic film still of a red apple"), r.image().parameters());
        assertTrue(r.image().parameters().contains("Style: cinematic"));
    }

    @Test
    void imagesComeOutAsBase64WithTheirSeedAndTime() throws IOException {
        GeneratedImage image = pipeline.generate(quick().samples(2).build()).images().get(1);
        byte[] png = Base64.getDecoder().decode(image.toBase64(ImageEncoder.Format.PNG));
        assertEquals(64, ImageIO.read(new ByteArrayInputStream(png)).getWidth());
        assertEquals(4, image.seed());
        assertEquals(1, image.index());
        assertTrue(image.duration().toNanos() > 0);
    }

    // --- bad input ---

    @Test
    void strengthOutsideZeroToOneIsRejected() {
        for (double s : new double[] {0, -0.5, 1.01, Double.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> quick().image(SOURCE).strength(s).build());
            assertTrue(e.getMessage().startsWith("strength: "), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pipeline.generate(quick().image(SOURCE).steps(2).strength(0.2).build()));
        assertTrue(e.getMessage().contains("leaves no step to run"), e.getMessage());
    }

    @Test
    void aMaskOfAnotherSizeOrWithoutAnImageIsRejected() {
        ImageInput small = ImageInput.of(new BufferedImage(32, 64, BufferedImage.TYPE_INT_RGB));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> quick().image(SOURCE).mask(small).build());
        assertEquals("mask: 32x64 does not match the image's 64x64", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> quick().mask(MASK).build());
        assertTrue(e.getMessage().startsWith("mask: given without an image"), e.getMessage());
    }

    @Test
    void highNoiseFractionOutsideTheOpenIntervalIsRejected() {
        for (double f : new double[] {0, 1, 1.5}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> quick().highNoiseFraction(f).build());
            assertTrue(e.getMessage().startsWith("highNoiseFraction: "), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> quick().refinerStrength(0).build());
    }

    @Test
    void anImageThatDoesNotDecodeIsNamed(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("photo.png");
        Files.writeString(bad, "not a png");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageInput.read(bad));
        assertTrue(e.getMessage().contains("photo.png") && e.getMessage().contains("not a PNG"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageInput.ofBase64("data:image/png;base64,@@@"));
        assertTrue(e.getMessage().startsWith("image base64"), e.getMessage());
    }

    @Test
    void aRefinerRequestWithoutARefinerLoadedIsRejected() {
        try (SdxlPipeline baseOnly = SdxlPipeline.load(TestData.tinyModel())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> baseOnly.generate(quick().refiner(RefinerMode.ENSEMBLE).build()));
            assertTrue(e.getMessage().startsWith("refiner: "), e.getMessage());
        }
    }

    @Test
    void aRefinerFolderThatIsNotARefinerIsRejected() {
        SdxlException e = assertThrows(SdxlException.class,
                () -> SdxlPipeline.load(TestData.tinyModel(), TestData.tinyModel(), PipelineOptions.defaults()));
        assertTrue(e.getMessage().contains("not an SDXL refiner export"), e.getMessage());
    }

    @Test
    void olderVaeEncodersThatOutputASampleWork(@TempDir Path dir) throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        FakeUnets.writeSamplingVaeEncoder(m.resolve("vae_encoder/model.onnx"));
        try (SdxlPipeline p = SdxlPipeline.load(m)) {
            float[] a = p.generate(quick().image(SOURCE).build()).image().pixels();
            float[] b = p.generate(quick().image(SOURCE).strength(0.5).build()).image().pixels();
            assertFalse(Arrays.equals(a, b));
        }
    }

    @Test
    void nineChannelInpaintingUnetsGetTheMaskAndMaskedImage(@TempDir Path dir) throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        FakeUnets.writeInpainting(m.resolve("unet/model.onnx"), 64, 32, 6);
        BufferedImage white = ImageProcessingFixtures.filled(64, 64, 0xFFFFFF);
        BufferedImage half = ImageProcessingFixtures.filled(64, 64, 0xFFFFFF);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 32; x++) {
                half.setRGB(x, y, 0);
            }
        }
        try (SdxlPipeline p = SdxlPipeline.load(m)) {
            float[] all = p.generate(quick().image(SOURCE).mask(ImageInput.of(white)).build()).image().pixels();
            float[] halfMask = p.generate(quick().image(SOURCE).mask(ImageInput.of(half)).build()).image().pixels();
            assertFalse(Arrays.equals(all, halfMask), "the mask channel reaches the UNet");
        }
    }
}
