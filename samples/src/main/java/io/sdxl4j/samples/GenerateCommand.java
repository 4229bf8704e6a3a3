// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.SchedulerType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What txt2img, img2img and inpaint share: options, loading, progress, writing the images. */
abstract class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    GenerationOptions generation;

    @Mixin
    EngineOptions engine;

    /** Adds the command's own inputs (image, mask, strength) to the request. */
    abstract void addInputs(GenerationRequest.Builder request);

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if ("help".equalsIgnoreCase(generation.scheduler)) {
            for (SchedulerType t : SchedulerType.values()) {
                out.println(String.format(Locale.ROOT, "%-20s %s", t.shortName(), String.join(", ", t.names())));
            }
            return 0;
        }
        GenerationRequest.Builder builder = generation.toBuilder();
        addInputs(builder);
        GenerationRequest request = builder.build();

        Path modelDir = generation.model;
        if (modelDir == null) {
            err.println("No --model given: using the built-in tiny random SDXL model (random test weights: its"
                    + " images are noise patterns).");
            modelDir = BuiltInModel.extract();
        }
        PipelineOptions options = engine.toOptions(generation.model != null);
        long start = System.nanoTime();
        try (SdxlPipeline pipeline = generation.refiner == null ? SdxlPipeline.load(modelDir, options)
                : SdxlPipeline.load(modelDir, generation.refiner, options)) {
            long loaded = System.nanoTime();
            ProgressBar bar = generation.quiet ? null : new ProgressBar(err);
            GenerationResult result = pipeline.generate(request, bar == null ? p -> { } : bar);
            if (bar != null) {
                bar.finish();
            }
            List<Path> written = new ArrayList<>();
            for (GeneratedImage image : result.images()) {
                Path file = outputFile(result.seed(), image.index(), result.images().size());
                image.write(file);
                written.add(file);
            }
            for (Path f : written) {
                out.println(f);
            }
            out.println(String.format(Locale.ROOT, "seed %d, %dx%d, %s, %d steps: %.2f s (denoising %.2f s)",
                    result.seed(), result.width(), result.height(), result.scheduler().shortName(), result.steps(),
                    result.total().toNanos() / 1e9, result.denoising().toNanos() / 1e9));
            out.println(String.format(Locale.ROOT, "model loaded in %.2f s, images generated in %.2f s",
                    (loaded - start) / 1e9, result.total().toNanos() / 1e9));
            return 0;
        }
    }

    private Path outputFile(long usedSeed, int index, int count) {
        Path file = generation.output != null ? generation.output : Path.of("sdxl4j-" + usedSeed + ".png");
        if (count == 1) {
            return file;
        }
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String indexed = dot < 0 ? name + "-" + index : name.substring(0, dot) + "-" + index + name.substring(dot);
        return file.resolveSibling(indexed);
    }
}
