// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.image.GenerationParameters;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.model.ModelKind;
import io.sdxl4j.pipeline.DenoisingLoop;
import io.sdxl4j.pipeline.GuidanceEmbedding;
import io.sdxl4j.pipeline.Guidance;
import io.sdxl4j.pipeline.TimeIds;
import io.sdxl4j.pipeline.UNet;
import io.sdxl4j.pipeline.VaeDecoder;
import io.sdxl4j.pipeline.Workspace;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.SchedulerConfig;
import io.sdxl4j.scheduler.SchedulerType;
import io.sdxl4j.tensor.TensorOps;
import io.sdxl4j.text.PromptEmbeds;
import io.sdxl4j.text.TextConditioner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Stable Diffusion XL from an ONNX export: text to image, matching Hugging Face diffusers'
 * {@code StableDiffusionXLPipeline} for the same model, prompt and seed.
 *
 * <pre>{@code
 * try (SdxlPipeline sdxl = SdxlPipeline.load(Path.of("sdxl-onnx"), PipelineOptions.defaults())) {
 *     GenerationResult r = sdxl.generate(GenerationRequest.builder("a lighthouse at dawn").seed(42).build());
 *     r.image().write(Path.of("lighthouse.png"));
 * }
 * }</pre>
 *
 * <p>A pipeline owns its ONNX sessions and buffers and frees them in {@link #close()}. Generations
 * on one pipeline run one at a time (calls from several threads queue); a bad request throws before
 * any work and leaves the pipeline usable.
 */
public final class SdxlPipeline implements AutoCloseable {

    private final ModelFolder folder;
    private final PipelineOptions options;
    private final Engine engine;
    private final TextConditioner text;
    private final UNet unet;
    private final VaeDecoder vae;
    private final Map<String, Scheduler> schedulers = new HashMap<>();
    private Workspace workspace;
    private boolean closed;

    private SdxlPipeline(ModelFolder folder, PipelineOptions options, Engine engine, TextConditioner text, UNet unet,
                         VaeDecoder vae) {
        this.folder = folder;
        this.options = options;
        this.engine = engine;
        this.text = text;
        this.unet = unet;
        this.vae = vae;
    }

    /** Loads a model folder with the default options (ONNX Runtime on the CPU). */
    public static SdxlPipeline load(Path modelDir) {
        return load(modelDir, PipelineOptions.defaults());
    }

    /**
     * Loads an SDXL base export in optimum's layout, checking every component's signature.
     *
     * @throws SdxlException            naming the folder or file that is not a usable SDXL export
     * @throws IllegalArgumentException when the options name an engine that is not on the class path
     */
    public static SdxlPipeline load(Path modelDir, PipelineOptions options) {
        ModelFolder folder = ModelFolder.open(modelDir);
        if (folder.kind() != ModelKind.BASE) {
            throw new SdxlException(folder.dir() + ": an SDXL refiner export (no text_encoder); a pipeline needs a"
                    + " base export with both text encoders");
        }
        Engine engine = Engines.create(options);
        List<AutoCloseable> opened = new ArrayList<>();
        opened.add(engine);
        try {
            TextConditioner text = TextConditioner.open(folder, engine);
            opened.add(text);
            UNet unet = UNet.open(folder, engine, text.hiddenSize(), text.pooledSize());
            opened.add(unet);
            VaeDecoder vae = VaeDecoder.open(folder, engine);
            return new SdxlPipeline(folder, options, engine, text, unet, vae);
        } catch (RuntimeException e) {
            for (int i = opened.size() - 1; i >= 0; i--) {
                try {
                    opened.get(i).close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** The model folder. */
    public ModelFolder model() {
        return folder;
    }

    public PipelineOptions options() {
        return options;
    }

    /** The engine's description (runtime, version, provider). */
    public String engineDescription() {
        return engine.describe();
    }

    /** The scheduler a request without one gets: the model's {@code scheduler_config.json} class. */
    public SchedulerType defaultScheduler() {
        String name = folder.schedulerConfig().className().orElse("EulerDiscreteScheduler");
        return SchedulerType.find(name).orElseThrow(() -> new SdxlException(folder.schedulerConfig().source()
                + ": _class_name " + name + " is not a scheduler sdxl4j implements; request one of "
                + SchedulerType.knownNames()));
    }

    /** Runs the text encoders on one prompt (for callers that cache or inspect embeddings). */
    public synchronized PromptEmbeds encodePrompt(String prompt) {
        checkOpen();
        return text.encode(prompt);
    }

    /** Generates without progress reporting. */
    public GenerationResult generate(GenerationRequest request) {
        return generate(request, ProgressListener.NONE);
    }

    /**
     * Generates the request's images.
     *
     * @throws GenerationCancelledException when the listener cancelled
     * @throws IllegalArgumentException     when the request does not fit this model (size)
     * @throws IllegalStateException        after {@link #close()}
     */
    public synchronized GenerationResult generate(GenerationRequest request, ProgressListener listener) {
        checkOpen();
        long start = System.nanoTime();
        int f = folder.vae().scaleFactor();
        int width = request.width().orElse(folder.defaultImageSize());
        int height = request.height().orElse(folder.defaultImageSize());
        checkDivisible("width", width, f);
        checkDivisible("height", height, f);
        SchedulerType type = request.scheduler().orElseGet(this::defaultScheduler);
        long seed = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong(1L << 32));
        // diffusers: guidance runs when the scale exceeds 1 and the UNet has no guidance embedding.
        Guidance guidance = new Guidance(request.guidanceScale(), request.guidanceRescale());
        boolean cfg = guidance.enabled() && !unet.hasTimestepCond();
        if (!cfg) {
            guidance = new Guidance(1.0, 0.0);
        }
        int images = request.samples();

        Workspace ws = workspace(images, cfg, height / f, width / f);
        PromptEmbeds positive = text.encode(request.prompt());
        ImageSize size = new ImageSize(width, height);
        float[] ids = TimeIds.base(request.originalSize().orElse(size), request.cropsCoordsTopLeft(),
                request.targetSize().orElse(size));
        if (cfg) {
            PromptEmbeds negative = request.negativePrompt().isEmpty() && folder.forceZerosForEmptyPrompt()
                    ? text.zeros() : text.encode(request.negativePrompt().orElse(""));
            ws.setConditioning(0, images, negative.hidden(), negative.pooled(), negativeTimeIds(request, ids));
            ws.setConditioning(images, 2 * images, positive.hidden(), positive.pooled(), ids);
        } else {
            ws.setConditioning(0, images, positive.hidden(), positive.pooled(), ids);
        }
        if (unet.hasTimestepCond()) {
            // Guidance-distilled UNets take the guidance scale as an embedding instead of a second batch.
            ws.setGuidanceEmbedding(GuidanceEmbedding.of(request.guidanceScale(), unet.timestepCondDim()));
        }
        long textDone = System.nanoTime();

        TensorOps ops = engine.ops();
        Scheduler scheduler = scheduler(type, request);
        scheduler.setTimesteps(request.steps());
        scheduler.begin(ops, ws.latents.shape());
        NoiseSource noise = request.noise().create(seed);
        ops.randn(ws.latents, noise);
        ops.scale(ws.latents, (float) scheduler.initNoiseSigma(), ws.latents);

        int total = scheduler.evaluationCount();
        StepProgress progress = new StepProgress(ws.latents.floatBuffer().asReadOnlyBuffer(), ws.latents.shape());
        DenoisingLoop loop = new DenoisingLoop(ws, scheduler, ops, guidance, noise);
        int done = loop.run(0, total, (index, count, of) -> {
            progress.update(count, of, scheduler.timestep(index), System.nanoTime() - start);
            listener.onStep(progress);
            return !progress.isCancelled();
        });
        if (done < total) {
            throw new GenerationCancelledException(done);
        }
        long denoiseDone = System.nanoTime();

        String parameters = GenerationParameters.format(request.prompt(), request.negativePrompt().orElse(null),
                request.steps(), type.samplerName(), request.guidanceScale(), seed, width, height, folder.name(),
                request.guidanceRescale() > 0 ? "CFG Rescale phi: " + request.guidanceRescale() : null);
        List<GeneratedImage> out = new ArrayList<>(images);
        for (int i = 0; i < images; i++) {
            out.add(new GeneratedImage(i, width, height, vae.decode(ws.latents, i), seed, parameters));
        }
        long end = System.nanoTime();
        return new GenerationResult(out, seed, width, height, type, request.steps(),
                Duration.ofNanos(textDone - start), Duration.ofNanos(denoiseDone - textDone),
                Duration.ofNanos(end - denoiseDone), Duration.ofNanos(end - start));
    }

    // diffusers' txt2img pipeline uses the negative size conditioning only when both the negative
    // original and target sizes are given; otherwise the unconditional rows repeat the positive ones.
    private static float[] negativeTimeIds(GenerationRequest r, float[] positive) {
        if (r.negativeOriginalSize().isPresent() && r.negativeTargetSize().isPresent()) {
            return TimeIds.base(r.negativeOriginalSize().get(), r.negativeCropsCoordsTopLeft(),
                    r.negativeTargetSize().get());
        }
        return positive;
    }

    private void checkDivisible(String field, int value, int factor) {
        if (value % factor != 0) {
            throw new IllegalArgumentException(field + ": " + value + " is not a multiple of the VAE scale factor "
                    + factor);
        }
    }

    // One scheduler instance per type and spacing override, reused (with its scratch tensors) across generations.
    private Scheduler scheduler(SchedulerType type, GenerationRequest request) {
        SchedulerConfig config = folder.schedulerConfig();
        if (request.timestepSpacing().isPresent()) {
            config = config.with("timestep_spacing", request.timestepSpacing().get().configValue());
        }
        SchedulerConfig effective = config;
        return schedulers.computeIfAbsent(type + "/" + request.timestepSpacing().map(Enum::name).orElse("model"),
                key -> type.create(effective));
    }

    private Workspace workspace(int images, boolean cfg, int latentHeight, int latentWidth) {
        if (workspace != null && workspace.fits(images, cfg, latentHeight, latentWidth)) {
            return workspace;
        }
        if (workspace != null) {
            workspace.close();
            workspace = null;
        }
        workspace = new Workspace(unet, images, cfg, folder.vae().latentChannels(), latentHeight, latentWidth,
                text.sequenceLength(), text.hiddenSize(), text.pooledSize());
        return workspace;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("pipeline closed");
        }
    }

    /** Frees every session and buffer; may be called twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (workspace != null) {
            workspace.close();
        }
        schedulers.values().forEach(Scheduler::close);
        vae.close();
        unet.close();
        text.close();
        engine.close();
    }
}
