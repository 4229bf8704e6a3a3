// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.pipeline.ResolvedRequest.RefinerPart;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * One request through the models, in the order and with the conventions of diffusers' SDXL
 * pipelines (text to image, img2img, inpainting, and the refiner as ensemble or second pass). Every
 * random draw comes from the request's noise in diffusers' order. The steps:
 *
 * <ol>
 *   <li>fit the request to the models ({@link ResolvedRequest}: every check and default, before any work);</li>
 *   <li>encode the prompts with the base's text encoders ({@link PromptConditioning});</li>
 *   <li>prepare the base's starting latents for the mode (noise; an encoded image; {@link InpaintInputs});</li>
 *   <li>denoise the base's window of the schedule ({@link DenoisingLoop});</li>
 *   <li>the refiner, if any: its conditioning, its starting latents, its window;</li>
 *   <li>decode every image with the last model's VAE.</li>
 * </ol>
 */
public final class Generation {

    private final LoadedModel base;
    private final LoadedModel refiner;
    private final AdapterVariants variants;
    private final PipelineOptions options;
    private final TensorOps ops;
    private final NoiseSource.Factory noise;
    private final StepObserver observer;
    private final long start = System.nanoTime();
    private int done;
    private long textNanos;
    private long denoiseNanos;

    private Generation(AdapterVariants variants, LoadedModel refiner, PipelineOptions options, TensorOps ops,
                       NoiseSource.Factory noise, StepObserver observer) {
        this.base = variants.base();
        this.refiner = refiner;
        this.variants = variants;
        this.options = options;
        this.ops = ops;
        this.noise = noise;
        this.observer = observer;
    }

    /**
     * Runs {@code request}.
     *
     * @param variants the base model and its adapter variants
     * @param refiner  the refiner, or null when the pipeline has none
     * @param noise    makes each model call's noise from its seed (torch's CPU generator in production)
     * @throws io.sdxl4j.InvalidRequestException     when the request does not fit the models, before any work
     * @throws io.sdxl4j.GenerationCancelledException when the observer stopped the generation
     */
    public static Output run(AdapterVariants variants, LoadedModel refiner, PipelineOptions options, TensorOps ops,
                             GenerationRequest request, NoiseSource.Factory noise, StepObserver observer) {
        return new Generation(variants, refiner, options, ops, noise, observer).run(request);
    }

    /** Fits a request to the models without running it: every check {@link #run} makes before any work. */
    public static ResolvedRequest resolve(LoadedModel base, LoadedModel refiner, PipelineOptions options,
                                          GenerationRequest request) {
        return ResolvedRequest.resolve(request, base, refiner, options, true);
    }

    private Output run(GenerationRequest request) {
        try (Scope scope = new Scope()) {
            // 1. Fit the request to the models.
            ResolvedRequest r = ResolvedRequest.resolve(request, base, refiner, options, false);
            int total = r.evaluations();
            // The base with the request's adapters (the plain model without any): opened when not kept.
            LoadedModel model = variants.get(r.adapters());

            // 2. Encode the prompts.
            long t0 = System.nanoTime();
            PromptConditioning text = PromptConditioning.encode(model, r);
            int scale = model.folder().vae().scaleFactor();
            Workspace ws = model.workspace(request.samples(), r.guidance(), r.height() / scale, r.width() / scale,
                    text.sequence());
            text.writeTo(ws, r.timeIds());
            if (model.unet().hasTimestepCond()) {
                // Guidance-distilled UNets take the guidance scale as an embedding instead of a second batch.
                ws.setGuidanceEmbedding(GuidanceEmbedding.of(request.guidanceScale(), model.unet().timestepCondDim()));
            }
            textNanos += System.nanoTime() - t0;

            // 3. The base's starting latents.
            Schedule schedule = r.base();
            Scheduler scheduler = schedule.scheduler();
            scheduler.begin(ops, ws.latents.shape());
            NoiseSource baseNoise = noise.create(r.seed());
            DenoisingLoop.StepHook hook = switch (request.mode()) {
                case GenerationMode.TextToImage t -> {
                    ops.randn(ws.latents, baseNoise);
                    ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), ws.latents);
                    yield DenoisingLoop.StepHook.NONE;
                }
                case GenerationMode.ImageToImage i -> {
                    startFromImage(i, r, ws, schedule, baseNoise, scope);
                    yield DenoisingLoop.StepHook.NONE;
                }
                case GenerationMode.Inpaint i -> InpaintInputs.prepare(i, r, model, ws, schedule, baseNoise, ops, scope);
            };

            // 4. Denoise the base's window.
            denoise(ws, schedule, baseNoise, hook, r, total);

            // 5. The refiner.
            LoadedModel decoder = model;
            if (r.refiner().isPresent()) {
                ws = refine(ws, r, r.refiner().get(), total, scope);
                decoder = refiner;
            }
            long latentsNanos = System.nanoTime() - start;

            // 6. Decode.
            long decodeStart = System.nanoTime();
            List<float[]> pixels = new ArrayList<>(request.samples());
            for (int i = 0; i < request.samples(); i++) {
                pixels.add(decoder.vae().decode(ws.latents, i, ops, request.watermark()));
            }
            long end = System.nanoTime();
            String parameters = ParametersText.of(r, model.folder().name(),
                    refiner == null ? null : refiner.folder().name());
            return new Output(r, pixels, parameters, textNanos, denoiseNanos, end - decodeStart, latentsNanos,
                    end - start);
        }
    }

    /** img2img: the image's latents (one draw) noised (one draw) to the window's first level. */
    private void startFromImage(GenerationMode.ImageToImage mode, ResolvedRequest r, Workspace ws, Schedule schedule,
                                NoiseSource noise, Scope scope) {
        BufferedImage image = io.sdxl4j.image.ImageProcessing.resize(mode.image().decode(), r.width(), r.height());
        HostTensor pixels = ImageLatents.pixels(image, scope);
        Tensor imageLatents = scope.add(ops.onEngine(ImageLatents.encode(base, pixels, noise,
                r.request().samples(), scope)));
        Tensor startNoise = scope.add(ops.allocate(ws.latents.shape()));
        ops.randn(startNoise, noise);
        schedule.scheduler().addNoise(imageLatents, startNoise, schedule.from(), ws.latents);
    }

    /** The refiner's conditioning, its start from the base's latents, its window. */
    private Workspace refine(Workspace baseWs, ResolvedRequest r, RefinerPart part, int total, Scope scope) {
        long t0 = System.nanoTime();
        PromptConditioning text = PromptConditioning.encode(refiner, r);
        int scale = base.folder().vae().scaleFactor();
        Workspace ws = refiner.workspace(r.request().samples(), r.guidance(), r.height() / scale, r.width() / scale,
                text.sequence());
        text.writeTo(ws, part.timeIds());
        textNanos += System.nanoTime() - t0;

        Schedule schedule = part.schedule();
        Scheduler scheduler = schedule.scheduler();
        scheduler.begin(ops, ws.latents.shape());
        NoiseSource refinerNoise = noise.create(part.seed());
        switch (part.refiner()) {
            case io.sdxl4j.Refiner.Ensemble e -> ops.copy(ws.latents, baseWs.latents); // the same latents, no noise
            case io.sdxl4j.Refiner.SecondPass p -> {
                // img2img on the base's latents (already latents: no VAE, no scaling), noised to the start.
                Tensor startNoise = scope.add(ops.allocate(ws.latents.shape()));
                ops.randn(startNoise, refinerNoise);
                scheduler.addNoise(baseWs.latents, startNoise, schedule.from(), ws.latents);
            }
        }
        denoise(ws, schedule, refinerNoise, DenoisingLoop.StepHook.NONE, r, total);
        return ws;
    }

    private void denoise(Workspace ws, Schedule schedule, NoiseSource noise, DenoisingLoop.StepHook hook,
                         ResolvedRequest r, int total) {
        long t0 = System.nanoTime();
        Guidance g = r.guidance() ? new Guidance(r.request().guidanceScale(), r.request().guidanceRescale())
                : new Guidance(1, 0);
        observer.begin(ws.hostLatents(), ws::latentsOnHost);
        Scheduler scheduler = schedule.scheduler();
        DenoisingLoop loop = new DenoisingLoop(ws, scheduler, ops, g, noise, hook);
        int ran = loop.run(schedule.from(), schedule.to(), (index, count, of) -> {
            done++;
            return observer.afterStep(done, total, scheduler.timestep(index), System.nanoTime() - start);
        });
        denoiseNanos += System.nanoTime() - t0;
        if (ran < schedule.evaluations()) {
            throw new io.sdxl4j.GenerationCancelledException(done);
        }
    }
}
