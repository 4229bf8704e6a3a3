// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.model.FakeUnets;
import io.sdxl4j.model.ModelCopies;
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
        float[] weak = pipeline.generate(quick().mode(GenerationMode.imageToImage(SOURCE).withStrength(0.3)).build(), p -> steps[0] = p.totalSteps())
                .image().pixels();
        assertEquals(1, steps[0], "strength 0.3 of 6 steps runs int(1.8) = 1");
        float[] strong = pipeline.generate(quick().mode(GenerationMode.imageToImage(SOURCE).withStrength(1.0)).build()).image().pixels();
        assertFalse(Arrays.equals(weak, strong));
    }

    @Test
    void img2imgTakesTheImagesSizeRoundedDownToTheVaeFactorOrResizesToTheRequestedOne() {
        BufferedImage odd = ImageProcessingFixtures.gradient(70, 67);
        GenerationResult r = pipeline.generate(quick().mode(GenerationMode.imageToImage(ImageInput.of(odd))).build());
        assertEquals(70, r.width(), "the tiny VAE's scale factor is 2");
        assertEquals(66, r.height());
        r = pipeline.generate(quick().mode(GenerationMode.imageToImage(ImageInput.of(odd))).size(48, 32).build());
        assertEquals(48 * 32 * 3, r.image().pixels().length);
    }

    @Test
    void aMaskThatKeepsEverythingLeavesThePromptNoSay() {
        BufferedImage black = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        float[] a = pipeline.generate(quick().mode(GenerationMode.inpaint(SOURCE, ImageInput.of(black))).build()).image().pixels();
        float[] b = pipeline.generate(quick().prompt("a green pear").mode(GenerationMode.inpaint(SOURCE, ImageInput.of(black))).build())
                .image().pixels();
        assertArrayEquals(a, b);
        float[] repainted = pipeline.generate(quick().mode(GenerationMode.inpaint(SOURCE, MASK)).build()).image().pixels();
        assertFalse(Arrays.equals(a, repainted));
    }

    @Test
    void maskBlurChangesTheInpaintedRegion() {
        float[] sharp = pipeline.generate(quick().mode(GenerationMode.inpaint(SOURCE, MASK)).build()).image().pixels();
        GenerationResult blurred = pipeline.generate(quick().mode(GenerationMode.inpaint(SOURCE, MASK).withMaskBlur(8)).build());
        assertFalse(Arrays.equals(sharp, blurred.image().pixels()));
        assertTrue(blurred.image().parameters().contains("Mask blur: 8"), blurred.image().parameters());
    }

    @Test
    void bothRefinerModesRunAfterTheBase() {
        int[] total = new int[1];
        GenerationResult ensemble = pipeline.generate(quick().steps(10)
                .refiner(Refiner.ensemble().withHighNoiseFraction(0.8)).build(), p -> total[0] = p.totalSteps());
        assertEquals(10, total[0], "8 base steps and 2 refiner steps");
        assertTrue(ensemble.image().parameters().contains("Refiner: sdxl-tiny-refiner, Refiner switch at: 0.8"),
                ensemble.image().parameters());
        pipeline.generate(quick().steps(8)
                .refiner(Refiner.secondPass().withStrength(0.5).withSteps(4)).build(), p -> total[0] = p.totalSteps());
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
        byte[] png = Base64.getDecoder().decode(image.toBase64(OutputFormat.PNG));
        assertEquals(64, ImageIO.read(new ByteArrayInputStream(png)).getWidth());
        assertEquals(4, image.seed());
        assertEquals(1, image.index());
        assertTrue(image.duration().toNanos() > 0);
    }

    // --- bad input ---

    @Test
    void strengthOutsideZeroToOneIsRejectedNamingTheField() {
        for (double s : new double[] {0, -0.5, 1.01, Double.NaN}) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> GenerationMode.imageToImage(SOURCE).withStrength(s));
            assertEquals("strength", e.field());
            assertEquals(String.valueOf(s), e.value().orElseThrow());
        }
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> pipeline.generate(
                quick().steps(2).mode(GenerationMode.imageToImage(SOURCE).withStrength(0.2)).build()));
        assertEquals("strength", e.field());
        assertTrue(e.reason().contains("leaves no step to run"), e.reason());
    }

    @Test
    void aMaskOfAnotherSizeIsResizedToTheOutputAsDiffusersDoes() {
        ImageInput small = ImageInput.of(ImageProcessingFixtures.filled(32, 48, 0xFFFFFF));
        GenerationResult r = pipeline.generate(quick().mode(GenerationMode.inpaint(SOURCE, small)).build());
        assertEquals(64, r.width());
        assertEquals(64, r.height());
    }

    @Test
    void maskBlurOutsideItsRangeIsRejected() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> GenerationMode.inpaint(SOURCE, MASK).withMaskBlur(-1));
        assertEquals("maskBlur", e.field());
        e = assertThrows(InvalidRequestException.class, () -> GenerationMode.inpaint(SOURCE, MASK).withMaskBlur(65));
        assertEquals("maskBlur", e.field());
    }

    @Test
    void refinerValuesOutsideTheirRangesAreRejectedNamingTheField() {
        for (double f : new double[] {0, 1, 1.5}) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> Refiner.ensemble().withHighNoiseFraction(f));
            assertEquals("refiner.highNoiseFraction", e.field());
        }
        assertEquals("refiner.strength", assertThrows(InvalidRequestException.class,
                () -> Refiner.secondPass().withStrength(0)).field());
        assertEquals("refiner.steps", assertThrows(InvalidRequestException.class,
                () -> Refiner.secondPass().withSteps(0)).field());
    }

    @Test
    void anImageThatIsNotAnImageIsNamedFromItsHeader(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("photo.png");
        Files.writeString(bad, "not a png");
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> ImageInput.read(bad));
        assertEquals("image", e.field());
        assertTrue(e.getMessage().contains("photo.png") && e.getMessage().contains("not a PNG"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> ImageInput.ofBase64("data:image/png;base64,@@@"));
        assertEquals("image", e.field());
        assertTrue(e.reason().contains("not valid base64"), e.reason());
    }

    @Test
    void aRefinerRequestWithoutARefinerLoadedIsRejected() {
        try (SdxlPipeline baseOnly = SdxlPipeline.load(TestData.tinyModel())) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> baseOnly.generate(quick().refiner(Refiner.ensemble()).build()));
            assertEquals("refiner", e.field());
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
            float[] a = p.generate(quick().mode(GenerationMode.imageToImage(SOURCE)).build()).image().pixels();
            float[] b = p.generate(quick().mode(GenerationMode.imageToImage(SOURCE).withStrength(0.5)).build()).image().pixels();
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
            float[] all = p.generate(quick().mode(GenerationMode.inpaint(SOURCE, ImageInput.of(white))).build()).image().pixels();
            float[] halfMask = p.generate(quick().mode(GenerationMode.inpaint(SOURCE, ImageInput.of(half))).build()).image().pixels();
            assertFalse(Arrays.equals(all, halfMask), "the mask channel reaches the UNet");
        }
    }

    @Test
    void theWatermarkMarksImagesFromTwoHundredFiftySixPixelsWideAndRefusesTooFewPixels() {
        GenerationRequest.Builder b = quick().steps(2).size(256, 256);
        float[] plain = pipeline.generate(b.build()).image().pixels();
        float[] marked = pipeline.generate(b.watermark(true).build()).image().pixels();
        assertFalse(Arrays.equals(plain, marked), "the mark changes the image");
        float[] narrow = pipeline.generate(quick().steps(2).size(248, 64).watermark(true).build()).image().pixels();
        assertArrayEquals(pipeline.generate(quick().steps(2).size(248, 64).build()).image().pixels(), narrow,
                "images under 256 wide are left alone, as diffusers does");
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(quick().size(256, 64).watermark(true).build()));
        assertEquals("watermark", e.field());
    }

    @Test
    void anInputImageTooLargeForAnOutputNeedsASizeAndIsRefusedBeforeDecoding() {
        ImageInput wide = ImageInput.of(new BufferedImage(5000, 8, BufferedImage.TYPE_INT_RGB));
        GenerationRequest request = quick().mode(GenerationMode.imageToImage(wide)).build();
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> pipeline.check(request));
        assertEquals("image", e.field());
        pipeline.check(request.toBuilder().size(1024, 8).build());
    }
}
