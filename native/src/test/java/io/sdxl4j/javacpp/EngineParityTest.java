// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.GenerationCancelledException;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.TestData;
import io.sdxl4j.model.FakeUnets;
import io.sdxl4j.model.ModelCopies;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model exports and modes the conformance cases do not cover, on the javacpp engine (host and
 * device-resident) against the default engine: fp16 UNets with int64 timesteps (the device path's
 * cast kernels), 9-channel inpainting UNets (channel writes into the UNet input on the device),
 * guidance-distilled UNets (timestep_cond), guidance rescale, the latents a listener reads, and
 * cancellation.
 */
class EngineParityTest {

    private static final Path CASES = TestData.conformance().resolve("cases");
    private static final ImageInput SOURCE = ImageInput.read(CASES.resolve("inpaint_euler_s099/input_image.png"));
    private static final ImageInput MASK = ImageInput.read(CASES.resolve("inpaint_euler_s099/mask_image.png"));

    @TempDir
    static Path dir;

    private static GenerationRequest.Builder quick() {
        return GenerationRequest.builder("a lighthouse").negativePrompt("fog").steps(5).seed(8);
    }

    private static float[] image(Path model, String engine, GenerationRequest request) {
        try (SdxlPipeline p = SdxlPipeline.load(model, PipelineOptions.builder().engine(engine).build())) {
            return p.generate(request).image().pixels();
        }
    }

    private static void assertSameImage(Path model, String engine, GenerationRequest request, double tolerance) {
        float[] expected = image(model, PipelineOptions.DEFAULT_ENGINE, request);
        float[] actual = image(model, engine, request);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max <= tolerance, engine + " differs from ort by " + max);
    }

    /** Writes a fake UNet file. */
    interface UnetWriter {
        void write(Path file) throws IOException;
    }

    /** The tiny model with its UNet replaced. */
    private static Path model(String name, UnetWriter unet) throws IOException {
        Path m = ModelCopies.tinyModel(dir.resolve(name));
        unet.write(m.resolve("unet/model.onnx"));
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {"javacpp", "javacpp-resident"})
    void fp16ExportsWithInt64TimestepsGiveTheDefaultEnginesImage(String engine) throws IOException {
        Path m = model("fp16-" + engine, f -> FakeUnets.writeFloat16(f, 64, 32, 6));
        assertSameImage(m, engine, quick().build(), 1e-3);
    }

    @ParameterizedTest
    @ValueSource(strings = {"javacpp", "javacpp-resident"})
    void nineChannelInpaintingUnetsGiveTheDefaultEnginesImage(String engine) throws IOException {
        Path m = model("inpaint-" + engine, f -> FakeUnets.writeInpainting(f, 64, 32, 6));
        assertSameImage(m, engine, quick().mode(GenerationMode.inpaint(SOURCE, MASK).withStrength(0.9)).build(), 1e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"javacpp", "javacpp-resident"})
    void guidanceDistilledUnetsGiveTheDefaultEnginesImage(String engine) throws IOException {
        Path m = model("lcm-" + engine, f -> FakeUnets.writeFloat32(f, 64, 32, 6, 16));
        assertSameImage(m, engine, quick().scheduler("lcm").guidanceScale(6).build(), 1e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"javacpp", "javacpp-resident"})
    void guidanceRescaleAndAListenersLatentsMatchTheDefaultEngine(String engine) {
        GenerationRequest request = quick().guidanceRescale(0.7).scheduler("dpmpp_2m_sde_karras").build();
        List<float[]> expected = latentsPerStep(PipelineOptions.DEFAULT_ENGINE, request);
        List<float[]> actual = latentsPerStep(engine, request);
        assertEquals(expected.size(), actual.size());
        for (int s = 0; s < expected.size(); s++) {
            for (int i = 0; i < expected.get(s).length; i++) {
                assertEquals(expected.get(s)[i], actual.get(s)[i], 1e-5, "step " + (s + 1) + ", element " + i);
            }
        }
    }

    private static List<float[]> latentsPerStep(String engine, GenerationRequest request) {
        List<float[]> steps = new ArrayList<>();
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel(),
                PipelineOptions.builder().engine(engine).build())) {
            p.generate(request, progress -> {
                var b = progress.latents();
                float[] copy = new float[b.remaining()];
                b.get(copy);
                steps.add(copy);
            });
        }
        return steps;
    }

    @ParameterizedTest
    @ValueSource(strings = {"javacpp", "javacpp-resident"})
    void cancellationLeavesTheDeviceLoopUsable(String engine) {
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel(),
                PipelineOptions.builder().engine(engine).build())) {
            float[] expected = p.generate(quick().build()).image().pixels();
            assertThrows(GenerationCancelledException.class, () -> p.generate(quick().build(), s -> {
                if (s.step() == 2) {
                    s.cancel();
                }
            }));
            float[] again = p.generate(quick().build()).image().pixels();
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], again[i], "element " + i);
            }
            assertTrue(p.engineDescription().startsWith(engine), p.engineDescription());
        }
    }
}
