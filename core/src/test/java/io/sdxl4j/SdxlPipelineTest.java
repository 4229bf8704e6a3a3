// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline's behaviour beyond conformance: determinism, progress, cancellation, reuse, lifecycle. */
class SdxlPipelineTest {

    private static SdxlPipeline pipeline;

    @BeforeAll
    static void load() {
        pipeline = SdxlPipeline.load(TestData.tinyModel());
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    private static GenerationRequest.Builder quick(long seed) {
        return GenerationRequest.builder("a red fox in the snow").negativePrompt("blurry").steps(4).seed(seed);
    }

    @Test
    void theSameSeedGivesTheSameImageAndAnotherSeedAnother() {
        float[] a = pipeline.generate(quick(1).build()).image().pixels();
        float[] b = pipeline.generate(quick(1).build()).image().pixels();
        float[] c = pipeline.generate(quick(2).build()).image().pixels();
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    @Test
    void aRandomSeedIsReportedAndReproducesTheImage() {
        GenerationResult r = pipeline.generate(quick(0).randomSeed().build());
        assertTrue(r.seed() >= 0 && r.seed() < (1L << 32), "seed " + r.seed());
        assertArrayEquals(r.image().pixels(), pipeline.generate(quick(r.seed()).build()).image().pixels());
    }

    @Test
    void defaultsToTheModelsSizeAndScheduler() {
        GenerationResult r = pipeline.generate(GenerationRequest.builder("x").steps(2).seed(3).build());
        assertEquals(64, r.width());
        assertEquals(64, r.height());
        assertEquals("euler", r.scheduler().shortName());
        assertEquals(64 * 64 * 3, r.image().pixels().length);
    }

    @Test
    void reportsEveryStepInOrder() {
        List<Integer> steps = new ArrayList<>();
        pipeline.generate(quick(5).steps(6).build(), p -> {
            steps.add(p.step());
            assertEquals(6, p.totalSteps());
            assertEquals(4 * 32 * 32, p.latents().remaining());
        });
        assertEquals(List.of(1, 2, 3, 4, 5, 6), steps);
    }

    @Test
    void cancellationStopsBetweenStepsAndLeavesThePipelineUsable() {
        float[] expected = pipeline.generate(quick(9).build()).image().pixels();
        GenerationCancelledException e = assertThrows(GenerationCancelledException.class,
                () -> pipeline.generate(quick(9).build(), p -> {
                    if (p.step() == 2) {
                        p.cancel();
                    }
                }));
        assertEquals(2, e.completedSteps());
        assertArrayEquals(expected, pipeline.generate(quick(9).build()).image().pixels());
    }

    @Test
    void aFailingListenerPropagatesAndLeavesThePipelineUsable() {
        float[] expected = pipeline.generate(quick(11).build()).image().pixels();
        assertThrows(IllegalStateException.class, () -> pipeline.generate(quick(11).build(), p -> {
            throw new IllegalStateException("listener bug");
        }));
        assertArrayEquals(expected, pipeline.generate(quick(11).build()).image().pixels());
    }

    @Test
    void switchingBatchSizeAndGuidanceReusesNothingStale() {
        float[] single = pipeline.generate(quick(21).build()).image().pixels();
        GenerationResult two = pipeline.generate(quick(21).samples(2).build());
        assertEquals(2, two.images().size());
        pipeline.generate(quick(21).guidanceScale(1.0).size(48, 80).build());
        assertArrayEquals(single, pipeline.generate(quick(21).build()).image().pixels());
    }

    @Test
    void aBadRequestThrowsBeforeAnyWorkAndTheNextOneRuns() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> pipeline.generate(quick(1).mode(GenerationMode.imageToImage(ImageInput.of(
                        ImageProcessingFixtures.gradient(64, 64)))).size(63, 64).build()));
        assertEquals("width", e.field(), "63 is not a multiple of the tiny VAE's factor 2");
        assertEquals(java.util.Optional.of("63"), e.value());
        assertEquals(1, pipeline.generate(quick(1).build()).images().size());
    }

    @Test
    void everySchedulerRunsTurboStyleFewTrailingStepsWithoutGuidance() {
        for (SchedulerType type : SchedulerType.values()) {
            for (int steps : new int[] {1, 4}) {
                GenerationRequest r = GenerationRequest.builder("a fox").steps(steps).guidanceScale(0.0).seed(5)
                        .scheduler(type).timestepSpacing(TimestepSpacing.TRAILING).build();
                boolean[] finite = {true};
                GenerationResult result = pipeline.generate(r, p -> {
                    var latents = p.latents();
                    for (int i = 0; i < latents.remaining(); i++) {
                        finite[0] &= Float.isFinite(latents.get(i));
                    }
                });
                assertEquals(type, result.scheduler());
                assertTrue(finite[0], type + " " + steps + " steps: latents stay finite");
                float[] pixels = result.image().pixels();
                double mean = 0;
                for (float v : pixels) {
                    mean += v / pixels.length;
                }
                double variance = 0;
                for (float v : pixels) {
                    variance += (v - mean) * (v - mean) / pixels.length;
                }
                assertTrue(variance > 1e-4, type + " " + steps + " steps: the image is not flat (" + variance + ")");
            }
        }
    }

    @Test
    void theSpacingOverrideChangesTheSchedule() {
        float[] leading = pipeline.generate(quick(3).build()).image().pixels();
        float[] trailing = pipeline.generate(quick(3).timestepSpacing(TimestepSpacing.TRAILING).build()).image().pixels();
        assertFalse(java.util.Arrays.equals(leading, trailing));
        assertArrayEquals(leading, pipeline.generate(quick(3).build()).image().pixels(), "the override is per request");
    }

    @Test
    void pngCarriesTheParametersAsA1111Does() throws IOException {
        GenerationResult r = pipeline.generate(quick(42).build());
        String params = r.image().parameters();
        assertTrue(params.startsWith("a red fox in the snow\nNegative prompt: blurry\nSteps: 4, Sampler: Euler,"
                + " CFG scale: 5.0, Seed: 42, Size: 64x64"), params);
        assertEquals(params, pngText(r.image().toPng(), "parameters"));
    }

    @Test
    void writesPngAndJpegByExtension(@TempDir Path dir) throws IOException {
        GeneratedImage image = pipeline.generate(quick(7).build()).image();
        image.write(dir.resolve("a.png"));
        image.write(dir.resolve("a.jpg"));
        assertEquals(64, ImageIO.read(dir.resolve("a.png").toFile()).getWidth());
        assertEquals(64, ImageIO.read(dir.resolve("a.jpg").toFile()).getHeight());
        assertEquals("output", assertThrows(InvalidRequestException.class,
                () -> image.write(dir.resolve("a.gif"))).field());
        assertEquals(OutputFormat.JPEG, OutputFormat.forFileName("x.JPEG"));
    }

    @Test
    void closeTwiceIsHarmlessAndUseAfterCloseThrows() {
        SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel());
        p.generate(quick(1).build());
        p.close();
        p.close();
        assertThrows(IllegalStateException.class, () -> p.generate(quick(1).build()));
    }

    @Test
    void concurrentCallersQueueAndAllGetTheirImage() throws InterruptedException {
        float[] expected = pipeline.generate(quick(13).build()).image().pixels();
        AtomicInteger matches = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                if (java.util.Arrays.equals(expected, pipeline.generate(quick(13).build()).image().pixels())) {
                    matches.incrementAndGet();
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(3, matches.get());
    }

    @Test
    void negativePromptNoneEmptyAndTextGiveThreeDifferentImages() {
        float[] none = pipeline.generate(quick(4).negativePrompt(NegativePrompt.NONE).build()).image().pixels();
        float[] empty = pipeline.generate(quick(4).negativePrompt("").build()).image().pixels();
        float[] text = pipeline.generate(quick(4).negativePrompt("blurry").build()).image().pixels();
        assertNotEquals(java.util.Arrays.hashCode(none), java.util.Arrays.hashCode(empty));
        assertNotEquals(java.util.Arrays.hashCode(empty), java.util.Arrays.hashCode(text));
    }

    static String pngText(byte[] png, String keyword) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            reader.setInput(in);
            IIOMetadataNode root = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
            var entries = root.getElementsByTagName("tEXtEntry");
            for (int i = 0; i < entries.getLength(); i++) {
                IIOMetadataNode e = (IIOMetadataNode) entries.item(i);
                if (keyword.equals(e.getAttribute("keyword"))) {
                    return e.getAttribute("value");
                }
            }
            var itxt = root.getElementsByTagName("iTXtEntry");
            for (int i = 0; i < itxt.getLength(); i++) {
                IIOMetadataNode e = (IIOMetadataNode) itxt.item(i);
                if (keyword.equals(e.getAttribute("keyword"))) {
                    return e.getAttribute("text");
                }
            }
            return null;
        }
    }
}
