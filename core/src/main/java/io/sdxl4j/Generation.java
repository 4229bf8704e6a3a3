// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.image.GenerationParameters;
import io.sdxl4j.image.ImageProcessing;
import io.sdxl4j.pipeline.DenoisingLoop;
import io.sdxl4j.pipeline.GuidanceEmbedding;
import io.sdxl4j.pipeline.Guidance;
import io.sdxl4j.pipeline.Inpainting;
import io.sdxl4j.pipeline.LoadedModel;
import io.sdxl4j.pipeline.TimeIds;
import io.sdxl4j.pipeline.Workspace;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.SchedulerType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import io.sdxl4j.text.PromptEmbeds;
import io.sdxl4j.text.TextConditioner;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One request run through the models, in the order and with the conventions of diffusers' SDXL
 * pipelines (text to image, img2img, inpainting, and the refiner as ensemble or second pass):
 * resolve the request, condition, prepare the starting latents, drive the denoising loop per model,
 * decode. Every random draw comes from the request's noise source in diffusers' order.
 */
final class Generation {

    /** What the request asks for. */
    private enum Mode { TXT2IMG, IMG2IMG, INPAINT }

    private final LoadedModel base;
    private final LoadedModel refiner;
    private final TensorOps ops;
    private final GenerationRequest request;
    private final ProgressListener listener;
    private final long start = System.nanoTime();
    private final List<AutoCloseable> temporaries = new ArrayList<>();

    private Mode mode;
    private int width;
    private int height;
    private int scale;
    private long seed;
    private SchedulerType type;
    private String prompt;
    private String negativePrompt;
    private boolean guidance;
    private int done;
    private int total;
    private long textNanos;
    private long denoiseNanos;

    Generation(LoadedModel base, LoadedModel refiner, TensorOps ops, GenerationRequest request,
               ProgressListener listener) {
        this.base = base;
        this.refiner = refiner;
        this.ops = ops;
        this.request = request;
        this.listener = listener;
    }

    GenerationResult run() {
        try {
            resolve();
            Workspace ws = denoiseBase();
            LoadedModel decoder = base;
            if (request.refiner() != RefinerMode.NONE) {
                ws = denoiseRefiner(ws);
                decoder = refiner;
            }
            long decodeStart = System.nanoTime();
            String parameters = parameters();
            List<GeneratedImage> images = new ArrayList<>(request.samples());
            long elapsed = System.nanoTime() - start;
            for (int i = 0; i < request.samples(); i++) {
                images.add(new GeneratedImage(i, width, height, decoder.vae().decode(ws.latents, i, ops), seed,
                        parameters, Duration.ofNanos(elapsed)));
            }
            long end = System.nanoTime();
            return new GenerationResult(images, seed, width, height, type, request.steps(), Duration.ofNanos(textNanos),
                    Duration.ofNanos(denoiseNanos), Duration.ofNanos(end - decodeStart), Duration.ofNanos(end - start));
        } finally {
            for (AutoCloseable t : temporaries) {
                try {
                    t.close();
                } catch (Exception ignored) {
                    // host tensors and hooks: nothing to report
                }
            }
        }
    }

    private void resolve() {
        mode = request.mask().isPresent() ? Mode.INPAINT : request.image().isPresent() ? Mode.IMG2IMG : Mode.TXT2IMG;
        if (request.refiner() != RefinerMode.NONE && refiner == null) {
            throw new IllegalArgumentException("refiner: " + request.refiner() + " asked for, but the pipeline was"
                    + " loaded without a refiner (SdxlPipeline.load(base, refiner, options))");
        }
        scale = base.folder().vae().scaleFactor();
        if (mode == Mode.TXT2IMG) {
            width = request.width().orElse(base.folder().defaultImageSize());
            height = request.height().orElse(base.folder().defaultImageSize());
        } else {
            // diffusers' image processor: the image's size rounded down to a multiple of 8.
            ImageInput image = request.image().orElseThrow();
            width = request.width().orElse(image.width() - image.width() % 8);
            height = request.height().orElse(image.height() - image.height() % 8);
            if (width < 8 || height < 8) {
                throw new IllegalArgumentException("image: " + image.width() + "x" + image.height()
                        + " is smaller than 8 pixels");
            }
        }
        checkDivisible("width", width);
        checkDivisible("height", height);
        type = request.scheduler().orElseGet(base::defaultScheduler);
        seed = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong(1L << 32));
        prompt = request.prompt();
        negativePrompt = request.negativePrompt().orElse(null);
        if (request.style().isPresent()) {
            prompt = request.style().get().applyTo(prompt);
            negativePrompt = request.style().get().negativeWith(negativePrompt);
        }
        // diffusers: guidance runs when the scale exceeds 1 and the UNet has no guidance embedding.
        guidance = request.guidanceScale() > 1 && !base.unet().hasTimestepCond();
    }

    private void checkDivisible(String field, int value) {
        if (value % scale != 0) {
            throw new IllegalArgumentException(field + ": " + value + " is not a multiple of the VAE scale factor "
                    + scale);
        }
    }

    // --- the base model ---------------------------------------------------------------------------

    private Workspace denoiseBase() {
        long t0 = System.nanoTime();
        Conditioning text = condition(base);
        Workspace ws = base.workspace(request.samples(), guidance, height / scale, width / scale, text.sequence());
        ImageSize size = new ImageSize(width, height);
        float[] ids = TimeIds.base(request.originalSize().orElse(size), request.cropsCoordsTopLeft(),
                request.targetSize().orElse(size));
        float[] negativeIds = mode == Mode.TXT2IMG ? txt2imgNegativeIds(ids) : TimeIds.base(
                request.negativeOriginalSize().orElse(request.originalSize().orElse(size)),
                request.negativeCropsCoordsTopLeft(),
                request.negativeTargetSize().orElse(request.targetSize().orElse(size)));
        text.writeTo(ws, ids, negativeIds);
        if (base.unet().hasTimestepCond()) {
            // Guidance-distilled UNets take the guidance scale as an embedding instead of a second batch.
            ws.setGuidanceEmbedding(GuidanceEmbedding.of(request.guidanceScale(), base.unet().timestepCondDim()));
        }
        textNanos += System.nanoTime() - t0;

        Scheduler scheduler = base.scheduler(type, request.timestepSpacing().orElse(null));
        scheduler.setTimesteps(request.steps());
        scheduler.begin(ops, ws.latents.shape());
        NoiseSource noise = request.noise().create(seed);
        int from = 0;
        DenoisingLoop.StepHook hook = DenoisingLoop.StepHook.NONE;
        switch (mode) {
            case TXT2IMG -> {
                ops.randn(ws.latents, noise);
                ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), ws.latents);
            }
            case IMG2IMG -> {
                from = strengthStart(scheduler, request.steps(), request.strength(), "strength");
                Tensor imageLatents = temp(ops.onEngine(encodeImage(sourceImage(), noise)));
                Tensor start = temp(ops.allocate(ws.latents.shape()));
                ops.randn(start, noise);
                scheduler.addNoise(imageLatents, start, from, ws.latents);
            }
            case INPAINT -> {
                from = strengthStart(scheduler, request.steps(), request.strength(), "strength");
                hook = prepareInpainting(ws, scheduler, noise, from);
            }
        }
        int to = scheduler.evaluationCount();
        if (request.refiner() == RefinerMode.ENSEMBLE) {
            // diffusers' denoising_end: keep the timesteps at or above the cut-off.
            int cutoff = cutoff(base);
            int count = 0;
            for (int i = from; i < to; i++) {
                count += scheduler.timestep(i) >= cutoff ? 1 : 0;
            }
            to = from + count;
        }
        total = to - from + refinerEvaluations();
        loop(ws, scheduler, noise, from, to, hook);
        return ws;
    }

    // diffusers' txt2img uses the negative size conditioning only when both the negative original and
    // target sizes are given; otherwise the unconditional rows repeat the positive ones.
    private float[] txt2imgNegativeIds(float[] positive) {
        if (request.negativeOriginalSize().isPresent() && request.negativeTargetSize().isPresent()) {
            return TimeIds.base(request.negativeOriginalSize().get(), request.negativeCropsCoordsTopLeft(),
                    request.negativeTargetSize().get());
        }
        return positive;
    }

    /**
     * diffusers' {@code get_timesteps}: strength s keeps the last min(⌊n·s⌋, n) steps; the start is an
     * evaluation index (× the scheduler's order).
     */
    private static int strengthStart(Scheduler scheduler, int steps, double strength, String field) {
        int init = Math.min((int) (steps * strength), steps);
        int start = Math.max(steps - init, 0) * scheduler.order();
        if (start >= scheduler.evaluationCount()) {
            throw new IllegalArgumentException(field + ": " + strength + " with " + steps
                    + " steps leaves no step to run; raise it or the steps");
        }
        return start;
    }

    /**
     * The ensemble's hand-over timestep, diffusers' {@code round(T − high_noise_fraction·T)} (Python
     * rounds half to even).
     */
    private int cutoff(LoadedModel model) {
        int t = model.folder().schedulerConfig().getInt("num_train_timesteps", 1000);
        return (int) Math.rint(t - request.highNoiseFraction() * t);
    }

    private BufferedImage sourceImage() {
        BufferedImage image = request.image().orElseThrow().image();
        return ImageProcessing.resize(image, width, height);
    }

    /** The source image's scaled latents, one row per image (one draw from the noise, as diffusers). */
    private HostTensor encodeImage(BufferedImage image, NoiseSource noise) {
        HostTensor pixels = temp(HostTensor.floats(1, 3, height, width));
        ImageProcessing.toTensor(image, pixels);
        return encodePixels(pixels, noise);
    }

    private HostTensor encodePixels(HostTensor pixels, NoiseSource noise) {
        int channels = base.folder().vae().latentChannels();
        HostTensor one = temp(HostTensor.floats(1, channels, height / scale, width / scale));
        base.encoder().encode(pixels, one, noise);
        return repeat(one, request.samples());
    }

    private HostTensor repeat(HostTensor one, int rows) {
        long[] shape = one.shape();
        shape[0] = rows;
        HostTensor out = temp(HostTensor.floats(shape));
        for (int r = 0; r < rows; r++) {
            out.slice(r, r + 1).copyFrom(one);
        }
        return out;
    }

    private DenoisingLoop.StepHook prepareInpainting(Workspace ws, Scheduler scheduler, NoiseSource noise, int from) {
        BufferedImage image = sourceImage();
        BufferedImage maskImage = ImageProcessing.resize(
                ImageProcessing.blur(request.mask().orElseThrow().image(), request.maskBlur()), width, height);
        HostTensor pixels = temp(HostTensor.floats(1, 3, height, width));
        ImageProcessing.toTensor(image, pixels);
        HostTensor mask = temp(HostTensor.floats(1, 1, height, width));
        ImageProcessing.maskToTensor(maskImage, mask);
        // diffusers: the image latents (one draw), the start noise (one draw), then the masked image's
        // latents (one draw), whatever the UNet.
        Tensor imageLatents = temp(ops.onEngine(encodePixels(pixels, noise)));
        Tensor startNoise = temp(ops.allocate(ws.latents.shape()));
        ops.randn(startNoise, noise);
        if (request.strength() == 1.0) {
            ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), startNoise);
        } else {
            scheduler.addNoise(imageLatents, startNoise, from, ws.latents);
        }
        HostTensor masked = temp(HostTensor.floats(1, 3, height, width));
        FloatBuffer p = pixels.floatBuffer();
        FloatBuffer m = mask.floatBuffer();
        FloatBuffer out = masked.floatBuffer();
        int plane = width * height;
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                out.put(c * plane + i, m.get(i) < 0.5f ? p.get(c * plane + i) : 0f);
            }
        }
        Tensor maskedLatents = temp(ops.onEngine(encodePixels(masked, noise)));
        Tensor latentMask = temp(ops.onEngine(repeat(nearest(mask, height / scale, width / scale),
                request.samples())));
        if (base.unet().inChannels() > ws.latents.shape()[1]) {
            ws.setInpaintingChannels(latentMask, maskedLatents);
            return DenoisingLoop.StepHook.NONE;
        }
        return temp(new Inpainting(ops, imageLatents, startNoise, latentMask));
    }

    /** {@code F.interpolate(mask, size)} in its default nearest mode: source index ⌊i·in/out⌋. */
    private HostTensor nearest(HostTensor mask, int h, int w) {
        HostTensor out = temp(HostTensor.floats(1, 1, h, w));
        int srcH = (int) mask.dim(2);
        int srcW = (int) mask.dim(3);
        FloatBuffer src = mask.floatBuffer();
        FloatBuffer dst = out.floatBuffer();
        for (int y = 0; y < h; y++) {
            int sy = (int) Math.floor(y * ((double) srcH / h));
            for (int x = 0; x < w; x++) {
                int sx = (int) Math.floor(x * ((double) srcW / w));
                dst.put(y * w + x, src.get(sy * srcW + sx));
            }
        }
        return out;
    }

    // --- the refiner ------------------------------------------------------------------------------

    private int refinerEvaluations() {
        if (request.refiner() == RefinerMode.NONE) {
            return 0;
        }
        Scheduler s = refinerScheduler();
        return s.evaluationCount() - refinerStart(s);
    }

    private Scheduler refinerScheduler() {
        Scheduler s = refiner.scheduler(type, request.timestepSpacing().orElse(null));
        s.setTimesteps(request.refiner() == RefinerMode.ENSEMBLE ? request.steps()
                : request.refinerSteps().orElse(request.steps()));
        return s;
    }

    private int refinerStart(Scheduler s) {
        if (request.refiner() == RefinerMode.ENSEMBLE) {
            // diffusers' denoising_start: run the timesteps below the cut-off (an odd count for
            // second-order schedulers, so that a step is never split).
            int cutoff = cutoff(refiner);
            int count = 0;
            for (int i = 0; i < s.evaluationCount(); i++) {
                count += s.timestep(i) < cutoff ? 1 : 0;
            }
            if (s.order() == 2 && count % 2 == 0) {
                count++;
            }
            return s.evaluationCount() - count;
        }
        return strengthStart(s, request.refinerSteps().orElse(request.steps()), request.refinerStrength(),
                "refinerStrength");
    }

    private Workspace denoiseRefiner(Workspace baseWs) {
        long t0 = System.nanoTime();
        Conditioning text = condition(refiner);
        Workspace ws = refiner.workspace(request.samples(), guidance, height / scale, width / scale, text.sequence());
        ImageSize size = new ImageSize(width, height);
        ImageSize original = request.originalSize().orElse(size);
        float[] ids = TimeIds.refiner(original, request.cropsCoordsTopLeft(), request.aestheticScore());
        float[] negativeIds = TimeIds.refiner(request.negativeOriginalSize().orElse(original),
                request.negativeCropsCoordsTopLeft(), request.negativeAestheticScore());
        text.writeTo(ws, ids, negativeIds);
        textNanos += System.nanoTime() - t0;

        Scheduler scheduler = refinerScheduler();
        scheduler.begin(ops, ws.latents.shape());
        NoiseSource noise = request.noise().create(request.refinerSeed().orElse(seed));
        int from = refinerStart(scheduler);
        if (request.refiner() == RefinerMode.ENSEMBLE) {
            ops.copy(ws.latents, baseWs.latents); // the same latents, no new noise
        } else {
            // img2img on the base's latents (already latents, so no VAE and no scaling), noised to the start.
            Tensor start = temp(ops.allocate(ws.latents.shape()));
            ops.randn(start, noise);
            scheduler.addNoise(baseWs.latents, start, from, ws.latents);
        }
        loop(ws, scheduler, noise, from, scheduler.evaluationCount(), DenoisingLoop.StepHook.NONE);
        return ws;
    }

    // --- shared ------------------------------------------------------------------------------------

    private void loop(Workspace ws, Scheduler scheduler, NoiseSource noise, int from, int to,
                      DenoisingLoop.StepHook hook) {
        long t0 = System.nanoTime();
        Guidance g = guidance ? new Guidance(request.guidanceScale(), request.guidanceRescale()) : new Guidance(1, 0);
        HostTensor hostLatents = ws.latentsOnHost();
        StepProgress progress = new StepProgress(hostLatents.floatBuffer().asReadOnlyBuffer(), ws.latents.shape(),
                ws::latentsOnHost);
        DenoisingLoop loop = new DenoisingLoop(ws, scheduler, ops, g, noise, hook);
        int ran = loop.run(from, to, (index, count, of) -> {
            done++;
            progress.update(done, total, scheduler.timestep(index), System.nanoTime() - start);
            listener.onStep(progress);
            return !progress.isCancelled();
        });
        denoiseNanos += System.nanoTime() - t0;
        if (ran < to - from) {
            throw new GenerationCancelledException(done);
        }
    }

    /** A model's text conditioning of the request: prompt and (under guidance) negative rows. */
    private record Conditioning(TextConditioner text, PromptEmbeds positive, PromptEmbeds negative, int images) {

        int sequence() {
            return positive.hidden().length / text.hiddenSize();
        }

        void writeTo(Workspace ws, float[] ids, float[] negativeIds) {
            if (negative == null) {
                ws.setConditioning(0, images, positive.hidden(), positive.pooled(), ids);
            } else {
                ws.setConditioning(0, images, negative.hidden(), negative.pooled(), negativeIds);
                ws.setConditioning(images, 2 * images, positive.hidden(), positive.pooled(), ids);
            }
        }
    }

    private Conditioning condition(LoadedModel model) {
        TextConditioner text = model.text();
        PromptEmbeds positive = text.encode(prompt, request.promptMode());
        if (!guidance) {
            return new Conditioning(text, positive, null, request.samples());
        }
        PromptEmbeds negative;
        if (negativePrompt == null && model.folder().forceZerosForEmptyPrompt()) {
            // SDXL's force_zeros_for_empty_prompt: no negative prompt → zero embeddings.
            negative = new PromptEmbeds(new float[positive.hidden().length], new float[positive.pooled().length]);
        } else {
            negative = text.encode(negativePrompt == null ? "" : negativePrompt, request.promptMode());
            int chunks = Math.max(text.chunks(positive), text.chunks(negative));
            positive = text.padTo(positive, chunks);
            negative = text.padTo(negative, chunks);
        }
        return new Conditioning(text, positive, negative, request.samples());
    }

    private String parameters() {
        List<String> extra = new ArrayList<>();
        if (request.guidanceRescale() > 0) {
            extra.add("CFG Rescale phi: " + request.guidanceRescale());
        }
        if (mode != Mode.TXT2IMG) {
            extra.add("Denoising strength: " + request.strength());
        }
        if (mode == Mode.INPAINT && request.maskBlur() > 0) {
            extra.add("Mask blur: " + request.maskBlur());
        }
        request.style().ifPresent(s -> extra.add("Style: " + s.name()));
        if (request.refiner() != RefinerMode.NONE) {
            extra.add("Refiner: " + refiner.folder().name());
            extra.add(request.refiner() == RefinerMode.ENSEMBLE
                    ? "Refiner switch at: " + request.highNoiseFraction()
                    : String.format(Locale.ROOT, "Refiner strength: %s", request.refinerStrength()));
        }
        return GenerationParameters.format(prompt, negativePrompt, request.steps(), type.samplerName(),
                request.guidanceScale(), seed, width, height, base.folder().name(), String.join(", ", extra));
    }

    private <T extends AutoCloseable> T temp(T resource) {
        temporaries.add(resource);
        return resource;
    }
}
