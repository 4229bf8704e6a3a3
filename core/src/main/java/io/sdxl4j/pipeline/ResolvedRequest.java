// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import io.sdxl4j.ImageSize;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Lora;
import io.sdxl4j.NegativePrompt;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.PromptMode;
import io.sdxl4j.Refiner;
import io.sdxl4j.SchedulerType;
import io.sdxl4j.image.SdxlWatermark;
import io.sdxl4j.model.Component;
import io.sdxl4j.text.LoraTags;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A request fitted to the loaded models, computed once before any work: every check against the
 * models (sizes and the VAE's scale factor, the refiner, the VAE encoder, clip skip, strengths
 * that leave steps), every default (size, seed, scheduler), the style applied to the prompts, the
 * guidance decision, SDXL's time ids and the schedule windows of the base and the refiner. The
 * later steps only read it.
 *
 * @param request        the request as given
 * @param width          output width in pixels
 * @param height         output height in pixels
 * @param seed           the base's generator seed
 * @param scheduler      the scheduler type
 * @param prompt         the prompt, styled
 * @param negativePrompt the negative prompt, styled
 * @param guidance       whether the UNet runs the unconditional rows (classifier-free guidance)
 * @param timeIds        the base's time ids
 * @param base           the base's schedule window
 * @param refiner        the refiner's part, if the request has one
 * @param adapters       the adapter set the base runs with (the pipeline's, the request's, the prompt's tags)
 */
public record ResolvedRequest(GenerationRequest request, int width, int height, long seed, SchedulerType scheduler,
                              String prompt, NegativePrompt negativePrompt, boolean guidance, TimeIds timeIds,
                              Schedule base, Optional<RefinerPart> refiner, AdapterSet adapters) {

    /**
     * The refiner's part of a request.
     *
     * @param refiner  the request's refiner value
     * @param seed     its generator seed
     * @param timeIds  its time ids (aesthetic score in place of the target size)
     * @param schedule its schedule window
     */
    record RefinerPart(Refiner refiner, long seed, TimeIds timeIds, Schedule schedule) {
    }

    /** The output size. */
    ImageSize size() {
        return new ImageSize(width, height);
    }

    /** Model evaluations in all, base and refiner. */
    int evaluations() {
        return base.evaluations() + refiner.map(r -> r.schedule().evaluations()).orElse(0);
    }

    /**
     * Fits {@code request} to the models.
     *
     * @param refinerModel the refiner, or null when the pipeline has none
     * @param ownSchedulers new schedulers instead of the models' shared ones (a check beside a running generation)
     * @throws InvalidRequestException naming the field when the request does not fit the models
     */
    static ResolvedRequest resolve(GenerationRequest request, LoadedModel base, LoadedModel refinerModel,
                                   PipelineOptions options, boolean ownSchedulers) {
        int scale = base.folder().vae().scaleFactor();
        ImageInput image = switch (request.mode()) {
            case GenerationMode.TextToImage t -> null;
            case GenerationMode.ImageToImage i -> i.image();
            case GenerationMode.Inpaint i -> i.image();
        };
        boolean textToImage = image == null;
        if (!textToImage && !base.folder().has(Component.VAE_ENCODER)) {
            throw new InvalidRequestException("image", image.source(), "cannot be used: img2img and inpainting need"
                    + " the export's " + Component.VAE_ENCODER.label() + ", which " + base.folder().dir() + " lacks");
        }
        int width = side("width", request.width().orElse(-1), image == null ? -1 : image.width(), scale,
                base.folder().defaultImageSize());
        int height = side("height", request.height().orElse(-1), image == null ? -1 : image.height(), scale,
                base.folder().defaultImageSize());
        int multiple = scale * base.unet().latentMultiple();
        if (width % multiple != 0 || height % multiple != 0) {
            String field = width % multiple != 0 ? "width" : "height";
            throw new InvalidRequestException(field, field.equals("width") ? width : height, "is not a multiple of "
                    + multiple + ", which this export's UNet needs (its upsamplers have fixed scales)");
        }
        if (request.watermark() && SdxlWatermark.marks(height, width) && (long) width * height < 256L * 256L) {
            // diffusers marks every image at least 256 wide; imwatermark refuses those under 256² pixels.
            throw new InvalidRequestException("watermark", width + "x" + height, "cannot be watermarked: SDXL's"
                    + " watermark needs at least 256x256 pixels on images 256 or more wide");
        }
        int maxClipSkip = refinerModel == null || request.refiner().isEmpty() ? base.text().maxClipSkip()
                : Math.min(base.text().maxClipSkip(), refinerModel.text().maxClipSkip());
        if (request.clipSkip() > maxClipSkip) {
            throw new InvalidRequestException("clipSkip", request.clipSkip(), "is beyond the text encoders' "
                    + maxClipSkip + " layers to skip");
        }
        if (request.refiner().isPresent() && refinerModel == null) {
            throw new InvalidRequestException("refiner", request.refiner().get(), "was asked for, but the pipeline"
                    + " was loaded without a refiner (SdxlPipeline.load(base, refiner, options))");
        }
        long seed = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong(1L << 32));
        SchedulerType type = request.scheduler().orElseGet(base::defaultScheduler);
        String prompt = request.style().map(s -> s.applyTo(request.prompt())).orElse(request.prompt());
        List<Lora> loras = new ArrayList<>(request.loras());
        if (request.promptMode() == PromptMode.A1111) {
            // AUTOMATIC1111 reads <lora:name:scale> tags out of the styled prompt.
            LoraTags.Parsed tags;
            try {
                tags = LoraTags.parse(prompt);
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("prompt", null, e.getMessage());
            }
            prompt = tags.prompt();
            tags.tags().forEach(t -> loras.add(Lora.named(t.name(), t.scale())));
        }
        if (!loras.isEmpty() && options.precision().int8()) {
            // A LoRA merges into the float32 weights, which an int8 UNet no longer has; merging and
            // quantizing per adapter set would cost a conversion per set, so the combination is refused.
            throw new InvalidRequestException("loras", loras.get(0).toString(), "cannot be applied with precision "
                    + options.precision() + " (the UNet's weights are int8); load the pipeline with FP32 for LoRAs");
        }
        AdapterSet adapters = AdapterSet.resolve(options, loras, request.embeddings());
        NegativePrompt negative = request.style().map(s -> s.negativeWith(request.negativePrompt()))
                .orElse(request.negativePrompt());
        // diffusers: guidance runs when the scale exceeds 1 and the UNet has no guidance embedding.
        boolean guidance = request.guidanceScale() > 1 && !base.unet().hasTimestepCond();
        ImageSize size = new ImageSize(width, height);
        TimeIds ids = TimeIds.base(request.sizeConditioning(), size, textToImage);

        var spacing = request.timestepSpacing().orElse(null);
        var scheduler = ownSchedulers ? base.newScheduler(type, spacing) : base.scheduler(type, spacing);
        Schedule schedule = switch (request.mode()) {
            case GenerationMode.TextToImage t -> Schedule.full(scheduler, request.steps());
            case GenerationMode.ImageToImage i ->
                    Schedule.fromStrength(scheduler, request.steps(), i.strength(), "strength");
            case GenerationMode.Inpaint i -> Schedule.fromStrength(scheduler, request.steps(), i.strength(), "strength");
        };
        Optional<RefinerPart> refinerPart = Optional.empty();
        if (request.refiner().isPresent()) {
            Refiner r = request.refiner().get();
            var refinerScheduler = ownSchedulers ? refinerModel.newScheduler(type, spacing)
                    : refinerModel.scheduler(type, spacing);
            Schedule refinerSchedule = switch (r) {
                case Refiner.Ensemble e -> {
                    schedule = schedule.endingAt(e.highNoiseFraction(), base.trainTimesteps());
                    yield Schedule.startingAt(refinerScheduler, request.steps(), e.highNoiseFraction(),
                            refinerModel.trainTimesteps());
                }
                case Refiner.SecondPass p -> secondPass(refinerScheduler, p, request.steps());
            };
            TimeIds refinerIds = TimeIds.refiner(request.sizeConditioning(), size, r.aestheticScore().positive(),
                    r.aestheticScore().negative());
            refinerPart = Optional.of(new RefinerPart(r, r.seed().orElse(seed), refinerIds, refinerSchedule));
        }
        return new ResolvedRequest(request, width, height, seed, type, prompt, negative, guidance, ids, schedule,
                refinerPart, adapters);
    }

    // The refiner's own steps are the field at fault when the scheduler refuses them.
    private static Schedule secondPass(io.sdxl4j.scheduler.Scheduler scheduler, Refiner.SecondPass p, int steps) {
        try {
            return Schedule.fromStrength(scheduler, p.steps().orElse(steps), p.strength(), "refiner.strength");
        } catch (InvalidRequestException e) {
            if (e.field().equals("steps") && p.steps().isPresent()) {
                throw new InvalidRequestException("refiner.steps", e.value().orElse(null), e.reason());
            }
            throw e;
        }
    }

    /**
     * One side of the output: the request's (a multiple of the VAE's scale factor), else the input
     * image's rounded down to one (diffusers' {@code VaeImageProcessor}), else the model's default.
     */
    private static int side(String field, int requested, int imageSide, int scale, int modelDefault) {
        if (requested > 0) {
            if (requested % scale != 0) {
                throw new InvalidRequestException(field, requested, "is not a multiple of the VAE's scale factor "
                        + scale);
            }
            return requested;
        }
        if (imageSide < 0) {
            return modelDefault;
        }
        int side = imageSide - imageSide % scale;
        if (side < 8 || side > GenerationRequest.MAX_SIZE) {
            throw new InvalidRequestException("image", imageSide, "as the output " + field + " gives " + side
                    + ", outside [8, " + GenerationRequest.MAX_SIZE + "]; set the request's " + field);
        }
        return side;
    }
}
