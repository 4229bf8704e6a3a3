// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.PromptEmbeds;
import io.sdxl4j.SchedulerType;
import io.sdxl4j.TestData;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.pipeline.DenoisingLoop;
import io.sdxl4j.pipeline.Guidance;
import io.sdxl4j.pipeline.UNet;
import io.sdxl4j.pipeline.VaeDecoder;
import io.sdxl4j.pipeline.Workspace;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.Schedulers;
import io.sdxl4j.text.TextConditioner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How often the device path makes the host wait for the device, counted where every copy and run
 * of it passes ({@link DeviceMemory}), on the CPU's late-running queue ({@code javacpp-resident}):
 * the calls are the ones the same code makes on CUDA, where each counted wait is a
 * {@code cudaStreamSynchronize} or {@code cudaEventSynchronize} and nothing else waits. A
 * denoising step waits never (its coefficients and timestep are uploaded through the staging ring
 * and read by runs queued behind them); guidance rescale waits twice a step (the host reads two
 * standard deviations); a whole image waits a fixed number of times however many steps it has.
 */
class HostSynchronizationTest {

    private record Counts(long synchronizations, long runs, long uploads, int evaluations) {
    }

    private static ModelFolder folder;
    private static JavaCppEngine engine;
    private static TextConditioner text;
    private static UNet unet;
    private static VaeDecoder vae;
    private static DeviceMemory queue;

    @BeforeAll
    static void open() {
        folder = ModelFolder.open(TestData.tinyModel());
        PipelineOptions options = PipelineOptions.defaults();
        engine = new JavaCppEngine(ResidentCpuEngineProvider.NAME, options, true);
        text = TextConditioner.open(folder, engine);
        unet = UNet.open(folder, engine, text.hiddenSize(), text.pooledSize(), options);
        vae = VaeDecoder.open(folder, engine);
        queue = ((OrtTensorOps) engine.ops()).transfers();
    }

    @AfterAll
    static void close() {
        vae.close();
        unet.close();
        text.close();
        engine.close();
    }

    private static Workspace workspace() {
        return new Workspace(unet, engine.ops(), 1, true, 4, 8, 8, text.sequenceLength(), text.hiddenSize(),
                text.pooledSize());
    }

    /** Counts of the steady state: the last of several generations with the same bindings. */
    private static Counts loop(SchedulerType type, double rescale, int steps) {
        try (Workspace ws = workspace();
             Scheduler scheduler = Schedulers.create(type, folder.schedulerConfig())) {
            scheduler.setTimesteps(steps);
            TorchGenerator noise = new TorchGenerator(3);
            DenoisingLoop loop = new DenoisingLoop(ws, scheduler, engine.ops(), new Guidance(5.0, rescale), noise);
            int evaluations = scheduler.evaluationCount();
            Counts last = null;
            for (int generation = 0; generation < 3; generation++) {
                scheduler.begin(engine.ops(), ws.latents.shape());
                engine.ops().randn(ws.latents, noise);
                long syncs = queue.hostSynchronizations();
                long runs = queue.runs();
                long uploads = queue.uploads();
                for (int i = 0; i < evaluations; i++) {
                    loop.step(i);
                }
                last = new Counts(queue.hostSynchronizations() - syncs, queue.runs() - runs,
                        queue.uploads() - uploads, evaluations);
            }
            return last;
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"EULER", "DPMPP_2M", "EULER_A", "HEUN", "DPMPP_2M_SDE", "UNIPC", "LCM"})
    void aDenoisingStepNeverWaitsForTheDevice(SchedulerType type) {
        Counts c = loop(type, 0.0, 12);
        System.out.printf(java.util.Locale.ROOT, "%s: %d evaluations, %.1f runs and %.1f uploads each, %d waits%n",
                type, c.evaluations(), (double) c.runs() / c.evaluations(), (double) c.uploads() / c.evaluations(),
                c.synchronizations());
        assertEquals(0, c.synchronizations(), c.evaluations() + " evaluations of " + type + " waited "
                + c.synchronizations() + " times (" + c.runs() + " runs, " + c.uploads() + " uploads)");
        // The work is there, only not waited for: a UNet run and kernel runs each step, and uploads.
        assertTrue(c.runs() >= 3L * c.evaluations(), c.runs() + " runs");
        assertTrue(c.uploads() >= c.evaluations(), c.uploads() + " uploads");
    }

    @Test
    void guidanceRescaleWaitsTwiceAStepToReadItsDeviations() {
        Counts c = loop(SchedulerType.EULER, 0.7, 12);
        assertEquals(2L * c.evaluations(), c.synchronizations());
    }

    @Test
    void aWholeImageWaitsAsOftenForFourStepsAsForTwelve() {
        long four = imageSynchronizations(4);
        long twelve = imageSynchronizations(12);
        System.out.println("a whole image waits " + four + " times at 4 steps, " + twelve + " at 12");
        assertEquals(four, twelve);
    }

    /** Host waits of a txt2img image with guidance: prompts, loop, decode (what the pipeline runs). */
    private static long imageSynchronizations(int steps) {
        try (Workspace ws = workspace();
             Scheduler scheduler = Schedulers.create(SchedulerType.EULER, folder.schedulerConfig())) {
            long before = queue.hostSynchronizations();
            PromptEmbeds positive = text.encode("a red cube");
            PromptEmbeds negative = text.encode("");
            float[] ids = {64, 64, 0, 0, 64, 64};
            ws.setConditioning(0, 1, negative.hidden(), negative.pooled(), ids);
            ws.setConditioning(1, 2, positive.hidden(), positive.pooled(), ids);
            scheduler.setTimesteps(steps);
            scheduler.begin(engine.ops(), ws.latents.shape());
            TorchGenerator noise = new TorchGenerator(5);
            engine.ops().randn(ws.latents, noise);
            engine.ops().scale(ws.latents, (float) scheduler.initNoiseSigma(), ws.latents);
            new DenoisingLoop(ws, scheduler, engine.ops(), new Guidance(5.0, 0.0), noise)
                    .run(0, scheduler.evaluationCount(), (index, done, total) -> true);
            float[] pixels = vae.decode(ws.latents, 0, engine.ops());
            assertTrue(pixels.length > 0);
            return queue.hostSynchronizations() - before;
        }
    }
}
