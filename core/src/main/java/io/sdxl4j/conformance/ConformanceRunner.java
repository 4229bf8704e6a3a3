// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.ImageSize;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.scheduler.SchedulerType;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Runs conformance cases through {@link SdxlPipeline} from each case's seed alone (the noise comes
 * from the torch-compatible generator, not from the recorded draws) and compares the float image
 * with diffusers'. A case whose pipeline mode or scheduler sdxl4j does not implement is skipped,
 * never passed. On failure the detail says where the run first left the reference (embeddings,
 * latents of a step).
 */
public final class ConformanceRunner implements AutoCloseable {

    private final PipelineOptions options;
    private final Map<Path, SdxlPipeline> pipelines = new HashMap<>();

    public ConformanceRunner(PipelineOptions options) {
        this.options = options;
    }

    /** Runs one case; never throws for a case that fails, reporting FAIL with the error instead. */
    public CaseResult run(ConformanceCase c) {
        Optional<String> unsupported = unsupported(c);
        if (unsupported.isPresent()) {
            return CaseResult.skip(c.id(), unsupported.get());
        }
        try {
            return runTxt2Img(c);
        } catch (RuntimeException e) {
            return CaseResult.fail(c.id(), e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Why a case cannot run yet, if it cannot. */
    public static Optional<String> unsupported(ConformanceCase c) {
        if (!c.pipeline().equals("txt2img")) {
            return Optional.of("pipeline " + c.pipeline() + " not implemented");
        }
        if (SchedulerType.find(c.scheduler()).isEmpty()) {
            return Optional.of("scheduler " + c.scheduler() + " not implemented");
        }
        return Optional.empty();
    }

    /** The request diffusers' pipeline call of the case corresponds to. */
    public static GenerationRequest request(ConformanceCase c) {
        GenerationRequest.Builder b = GenerationRequest.builder(c.prompt())
                .negativePrompt(c.negativePrompt().orElse(null))
                .size(c.width(), c.height())
                .steps(c.steps())
                .guidanceScale(c.guidanceScale())
                .guidanceRescale(c.guidanceRescale())
                .samples(c.imagesPerPrompt())
                .seed(c.seed())
                .scheduler(c.scheduler());
        c.pair("original_size").ifPresent(p -> b.originalSize(new ImageSize(p[1], p[0])));
        c.pair("target_size").ifPresent(p -> b.targetSize(new ImageSize(p[1], p[0])));
        c.pair("negative_original_size").ifPresent(p -> b.negativeOriginalSize(new ImageSize(p[1], p[0])));
        c.pair("negative_target_size").ifPresent(p -> b.negativeTargetSize(new ImageSize(p[1], p[0])));
        c.pair("crops_coords_top_left").ifPresent(p -> b.cropsCoordsTopLeft(new io.sdxl4j.CropCoords(p[0], p[1])));
        return b.build();
    }

    private CaseResult runTxt2Img(ConformanceCase c) {
        SdxlPipeline pipeline = pipeline(c.model());
        LatentTrace trace = new LatentTrace(c);
        GenerationResult result = pipeline.generate(request(c), trace);
        float[] expected = read(c.file("image").orElseThrow(() -> new IllegalStateException("case has no image")));
        int perImage = c.width() * c.height() * 3;
        if (expected.length != perImage * result.images().size()) {
            return CaseResult.fail(c.id(), "reference image has " + expected.length + " values, sdxl4j made "
                    + result.images().size() + " images of " + perImage);
        }
        double err = 0;
        for (int i = 0; i < result.images().size(); i++) {
            float[] actual = result.images().get(i).pixels();
            for (int k = 0; k < perImage; k++) {
                err = Math.max(err, Math.abs(actual[k] - expected[i * perImage + k]));
            }
        }
        if (err <= c.imageTolerance()) {
            return new CaseResult(CaseResult.Status.PASS, c.id(), err, c.imageTolerance(), "");
        }
        return new CaseResult(CaseResult.Status.FAIL, c.id(), err, c.imageTolerance(),
                embeddingsDetail(c, pipeline) + trace.detail());
    }

    private String embeddingsDetail(ConformanceCase c, SdxlPipeline pipeline) {
        Optional<Path> ref = c.file("prompt_embeds");
        if (ref.isEmpty()) {
            return "";
        }
        float[] expected = read(ref.get());
        float[] actual = pipeline.encodePrompt(c.prompt()).hidden();
        double err = 0;
        for (int i = 0; i < Math.min(actual.length, expected.length); i++) {
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        return String.format(Locale.ROOT, "prompt_embeds err=%.3g tol=%s; ", err, c.embedsTolerance());
    }

    private SdxlPipeline pipeline(Path model) {
        return pipelines.computeIfAbsent(model.toAbsolutePath().normalize(), m -> SdxlPipeline.load(m, options));
    }

    static float[] read(Path file) {
        try {
            return Npy.readFloats(file).data();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        pipelines.values().forEach(SdxlPipeline::close);
        pipelines.clear();
    }
}
