// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SchedulerType;
import io.sdxl4j.TestData;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.pipeline.DenoisingLoop;
import io.sdxl4j.pipeline.Guidance;
import io.sdxl4j.pipeline.UNet;
import io.sdxl4j.pipeline.Workspace;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.Schedulers;
import io.sdxl4j.text.TextConditioner;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A denoising step on the javacpp engine allocates no Java memory, on host tensors and on
 * device-resident ones (UNet binding, timestep upload, guidance, guidance rescale and the
 * scheduler's update through the kernel sessions).
 */
class DenoisingLoopAllocationTest {

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"javacpp, EULER", "javacpp, DPMPP_2M", "javacpp-resident, EULER", "javacpp-resident, DPMPP_2M",
            "javacpp-resident, EULER_A", "javacpp-resident, HEUN"})
    void aStepAllocatesNothing(String engineName, SchedulerType type) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        ModelFolder folder = ModelFolder.open(TestData.tinyModel());
        PipelineOptions options = PipelineOptions.builder().engine(engineName).build();
        try (Engine engine = Engines.create(options);
             TextConditioner text = TextConditioner.open(folder, engine);
             UNet unet = UNet.open(folder, engine, text.hiddenSize(), text.pooledSize(), options);
             Workspace ws = new Workspace(unet, engine.ops(), 1, true, 4, 8, 8, text.sequenceLength(),
                     text.hiddenSize(), text.pooledSize());
             Scheduler scheduler = Schedulers.create(type, folder.schedulerConfig())) {
            scheduler.setTimesteps(20);
            TorchGenerator noise = new TorchGenerator(1);
            DenoisingLoop loop = new DenoisingLoop(ws, scheduler, engine.ops(), new Guidance(5.0, 0.7), noise);
            int evaluations = scheduler.evaluationCount();
            // The first generation binds each kernel to its tensors once (the last steps of some
            // schedulers use other updates); later ones are the steady state of a long-lived pipeline.
            // The fewest bytes of several generations is what the loop itself allocates: a JIT
            // recompilation or an agent may allocate on this thread during any one of them.
            long fewest = Long.MAX_VALUE;
            for (int generation = 0; generation < 5; generation++) {
                scheduler.begin(engine.ops(), ws.latents.shape());
                engine.ops().randn(ws.latents, noise);
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < evaluations; i++) {
                    loop.step(i);
                }
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (generation > 0) {
                    fewest = Math.min(fewest, allocated);
                }
            }
            assertTrue(fewest == 0, evaluations + " steps allocated " + fewest + " bytes in the best of 4 generations");
        }
    }
}
