// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.CropCoords;
import io.sdxl4j.Embedding;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.ImageInput;
import io.sdxl4j.ImageSize;
import io.sdxl4j.Lora;
import io.sdxl4j.NegativePrompt;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Refiner;
import io.sdxl4j.SchedulerType;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.SizeConditioning;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Runs conformance cases through {@link SdxlPipeline} from each case's seed alone (the noise comes
 * from the torch-compatible generator, not from the recorded draws) and compares the float image
 * with diffusers'. A case whose pipeline mode or scheduler sdxl4j does not implement is skipped,
 * never passed, and so is a case with adapters the runner cannot load. On failure the detail says where the run first left the reference (embeddings,
 * latents of a step).
 */
public final class ConformanceRunner implements AutoCloseable {

    private final PipelineOptions options;
    private final Map<String, SdxlPipeline> pipelines = new HashMap<>();

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
            return runCase(c);
        } catch (RuntimeException e) {
            return CaseResult.fail(c.id(), e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static final Set<String> PIPELINES =
            Set.of("txt2img", "img2img", "inpaint", "refiner_ensemble", "refiner_after_base");

    /** Why a case cannot run, if it cannot: a pipeline mode or scheduler sdxl4j does not implement. */
    public static Optional<String> unsupported(ConformanceCase c) {
        if (!PIPELINES.contains(c.pipeline())) {
            return Optional.of("pipeline " + c.pipeline() + " not implemented");
        }
        if (SchedulerType.find(c.scheduler()).isEmpty()) {
            return Optional.of("scheduler " + c.scheduler() + " not implemented");
        }
        return Optional.empty();
    }

    /** The request diffusers' pipeline call(s) of the case correspond to. */
    public static GenerationRequest request(ConformanceCase c) {
        GenerationRequest.Builder b = GenerationRequest.builder(c.prompt())
                .negativePrompt(c.negativePrompt().map(NegativePrompt::of).orElse(NegativePrompt.NONE))
                .size(c.width(), c.height())
                .steps(c.steps())
                .guidanceScale(c.guidanceScale())
                .guidanceRescale(c.guidanceRescale())
                .samples(c.imagesPerPrompt())
                .seed(c.seed())
                .scheduler(c.scheduler())
                .clipSkip(c.json().path("clip_skip").asInt(0))
                .sizeConditioning(sizeConditioning(c));
        // LoRA files merged with their scales, embeddings loaded with their tokens, before the call.
        for (JsonNode l : c.json().path("loras")) {
            b.lora(Lora.of(c.dir().resolve(l.path("file").asText()).toAbsolutePath(), l.path("scale").asDouble(1.0)));
        }
        for (JsonNode e : c.json().path("embeddings")) {
            b.embedding(Embedding.of(c.dir().resolve(e.path("file").asText()).toAbsolutePath(),
                    e.path("token").asText()));
        }
        Optional<ImageInput> image = c.file("input_image").map(ImageInput::read);
        Optional<ImageInput> mask = c.file("mask_image").map(ImageInput::read);
        double strength = c.number("strength").orElse(1.0);
        switch (c.pipeline()) {
            case "img2img" -> b.mode(GenerationMode.imageToImage(image.orElseThrow()).withStrength(strength));
            case "inpaint" -> b.mode(GenerationMode.inpaint(image.orElseThrow(), mask.orElseThrow())
                    .withStrength(strength).withMaskBlur(c.json().path("mask_blur").asInt(0)));
            case "refiner_ensemble" -> b.refiner(new Refiner.Ensemble(
                    c.number("high_noise_fraction").orElse(Refiner.Ensemble.DEFAULT_HIGH_NOISE_FRACTION),
                    refinerSeed(c), Refiner.AestheticScore.DEFAULT));
            case "refiner_after_base" -> b.refiner(new Refiner.SecondPass(
                    c.number("refiner_strength").orElse(Refiner.SecondPass.DEFAULT_STRENGTH),
                    c.number("refiner_steps").map(v -> OptionalInt.of(v.intValue())).orElse(OptionalInt.empty()),
                    refinerSeed(c), Refiner.AestheticScore.DEFAULT));
            default -> { }
        }
        return b.build();
    }

    private static OptionalLong refinerSeed(ConformanceCase c) {
        return c.number("refiner_seed").map(v -> OptionalLong.of(v.longValue())).orElse(OptionalLong.empty());
    }

    // Every size and crop pair of a case is [height, width] / [top, left], as diffusers takes them.
    private static SizeConditioning sizeConditioning(ConformanceCase c) {
        SizeConditioning.Builder s = SizeConditioning.builder();
        c.pair("original_size").ifPresent(p -> s.originalSize(new ImageSize(p[1], p[0])));
        c.pair("target_size").ifPresent(p -> s.targetSize(new ImageSize(p[1], p[0])));
        c.pair("crops_coords_top_left").ifPresent(p -> s.cropsCoordsTopLeft(new CropCoords(p[0], p[1])));
        c.pair("negative_original_size").ifPresent(p -> s.negativeOriginalSize(new ImageSize(p[1], p[0])));
        c.pair("negative_target_size").ifPresent(p -> s.negativeTargetSize(new ImageSize(p[1], p[0])));
        c.pair("negative_crops_coords_top_left").ifPresent(p -> s.negativeCropsCoordsTopLeft(new CropCoords(p[0], p[1])));
        return s.build();
    }

    private CaseResult runCase(ConformanceCase c) {
        SdxlPipeline pipeline = pipeline(c.model(), c.refinerModel().orElse(null));
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
        float[] actual = pipeline.encodePrompt(c.prompt(), c.json().path("clip_skip").asInt(0)).hidden();
        double err = 0;
        for (int i = 0; i < Math.min(actual.length, expected.length); i++) {
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        return String.format(Locale.ROOT, "prompt_embeds err=%.3g tol=%s; ", err, c.embedsTolerance());
    }

    private SdxlPipeline pipeline(Path model, Path refiner) {
        String key = model.toAbsolutePath().normalize() + "|" + (refiner == null ? "" : refiner.toAbsolutePath()
                .normalize());
        return pipelines.computeIfAbsent(key, k -> refiner == null ? SdxlPipeline.load(model, options)
                : SdxlPipeline.load(model, refiner, options));
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
