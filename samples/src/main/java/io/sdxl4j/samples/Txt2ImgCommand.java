// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.scheduler.SchedulerType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sdxl4j txt2img}: text to image. */
@Command(name = "txt2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate images from a prompt. Without --model, runs the built-in tiny random model.")
final class Txt2ImgCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
            description = "SDXL ONNX export (optimum layout). Default: the built-in tiny random model.")
    Path model;

    @Option(names = {"-p", "--prompt"}, description = "The prompt (required).")
    String prompt;

    @Option(names = {"-n", "--negative-prompt"}, description = "The negative prompt (default: none).")
    String negativePrompt;

    @Option(names = {"-W", "--width"}, description = "Width in pixels (default: the model's, 1024 for SDXL).")
    Integer width;

    @Option(names = {"-H", "--height"}, description = "Height in pixels (default: the model's, 1024 for SDXL).")
    Integer height;

    @Option(names = "--steps", defaultValue = "30", description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = {"-g", "--guidance"}, defaultValue = "5.0",
            description = "Guidance scale; <= 1 disables guidance (default: ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--guidance-rescale", defaultValue = "0", description = "Guidance rescale phi in [0, 1].")
    double guidanceRescale;

    @Option(names = {"-s", "--seed"}, description = "Seed (default: random, printed).")
    Long seed;

    @Option(names = "--samples", defaultValue = "1", description = "Images to generate (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "Scheduler (default: the model's); 'help' lists them.")
    String scheduler;

    @Option(names = "--timestep-spacing", paramLabel = "S",
            description = "Override the scheduler's spacing: leading, trailing (Turbo/Lightning), linspace.")
    String timestepSpacing;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Output .png or .jpg; several samples get -0, -1, ... (default: sdxl4j-SEED.png).")
    Path output;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if ("help".equalsIgnoreCase(scheduler)) {
            for (SchedulerType t : SchedulerType.values()) {
                out.println(String.format(Locale.ROOT, "%-18s %s", t.shortName(), String.join(", ", t.names())));
            }
            return 0;
        }
        GenerationRequest.Builder b = GenerationRequest.builder(prompt).negativePrompt(negativePrompt).steps(steps)
                .guidanceScale(guidance).guidanceRescale(guidanceRescale).samples(samples).scheduler(scheduler).timestepSpacing(timestepSpacing);
        if (width != null) {
            b.width(width);
        }
        if (height != null) {
            b.height(height);
        }
        if (seed != null) {
            b.seed(seed);
        }
        GenerationRequest request = b.build();

        Path modelDir = model;
        if (modelDir == null) {
            err.println("No --model given: using the built-in tiny random SDXL model (random test weights: its"
                    + " images are noise patterns).");
            modelDir = BuiltInModel.extract();
        }
        long start = System.nanoTime();
        try (SdxlPipeline pipeline = SdxlPipeline.load(modelDir, engine.toOptions())) {
            ProgressBar bar = quiet ? null : new ProgressBar(err);
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
                    (System.nanoTime() - start) / 1e9, result.denoising().toNanos() / 1e9));
            return 0;
        }
    }

    private Path outputFile(long usedSeed, int index, int count) {
        Path file = output != null ? output : Path.of("sdxl4j-" + usedSeed + ".png");
        if (count == 1) {
            return file;
        }
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String indexed = dot < 0 ? name + "-" + index : name.substring(0, dot) + "-" + index + name.substring(dot);
        return file.resolveSibling(indexed);
    }
}
