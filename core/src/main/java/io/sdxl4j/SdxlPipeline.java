// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.pipeline.AdapterVariants;
import io.sdxl4j.pipeline.Generation;
import io.sdxl4j.pipeline.LoadedModel;
import io.sdxl4j.pipeline.Output;
import io.sdxl4j.pipeline.Scope;
import io.sdxl4j.pipeline.StepObserver;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.HostTensor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Stable Diffusion XL from an ONNX export: text to image, img2img, inpainting, and the SDXL refiner,
 * matching Hugging Face diffusers' SDXL pipelines for the same models, prompt and seed.
 *
 * <pre>{@code
 * try (SdxlPipeline sdxl = SdxlPipeline.load(Path.of("sdxl-onnx"), PipelineOptions.defaults())) {
 *     GenerationResult r = sdxl.generate(GenerationRequest.builder("a lighthouse at dawn").seed(42).build());
 *     r.image().write(Path.of("lighthouse.png"));
 * }
 * }</pre>
 *
 * <p>A pipeline owns its ONNX sessions and buffers and frees them in {@link #close()}, which may be
 * called twice; use after close throws {@link IllegalStateException}. Generations on one pipeline
 * run one at a time (calls from several threads queue). A request that does not fit throws
 * {@link InvalidRequestException} before any work and leaves the pipeline usable.
 */
public final class SdxlPipeline implements AutoCloseable {

    private final PipelineOptions options;
    private final Engine engine;
    private final LoadedModel base;
    private final LoadedModel refiner;
    private final AdapterVariants variants;
    private volatile boolean closed;

    private SdxlPipeline(PipelineOptions options, Engine engine, LoadedModel base, LoadedModel refiner) {
        this.options = options;
        this.engine = engine;
        this.base = base;
        this.refiner = refiner;
        this.variants = new AdapterVariants(base, options);
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
        return open(modelDir, null, options);
    }

    /**
     * Loads an SDXL base export and an SDXL refiner export (used by requests with a {@link Refiner}).
     * The refiner reuses the base's VAE when its VAE files are identical.
     *
     * @throws SdxlException naming the folder or file that is not a usable base or refiner export
     */
    public static SdxlPipeline load(Path modelDir, Path refinerDir, PipelineOptions options) {
        return open(modelDir, Objects.requireNonNull(refinerDir, "refinerDir"), options);
    }

    private static SdxlPipeline open(Path modelDir, Path refinerDir, PipelineOptions options) {
        Objects.requireNonNull(options, "options");
        ModelFolder folder = ModelFolder.open(modelDir);
        if (folder.kind() != ModelInfo.Kind.BASE) {
            throw new SdxlException(folder.dir() + ": an SDXL refiner export (no text_encoder); a pipeline needs a"
                    + " base export with both text encoders, and takes the refiner as its second folder");
        }
        ModelFolder refinerFolder = refinerDir == null ? null : ModelFolder.open(refinerDir);
        if (refinerFolder != null && refinerFolder.kind() != ModelInfo.Kind.REFINER) {
            throw new SdxlException(refinerFolder.dir() + ": not an SDXL refiner export (it has text_encoder;"
                    + " a refiner has text_encoder_2 only and 5 time ids)");
        }
        Scope opened = new Scope();
        try {
            Engine engine = opened.add(Engines.create(options));
            LoadedModel base = opened.add(LoadedModel.open(folder, engine, null, options));
            LoadedModel refiner = refinerFolder == null ? null
                    : opened.add(LoadedModel.open(refinerFolder, engine, base, options));
            opened.release();
            return new SdxlPipeline(options, engine, base, refiner);
        } catch (RuntimeException e) {
            Scope.closeOnFailure(opened, e);
            throw e;
        }
    }

    /** Adapter sets opened so far (each a merge and a session start); for tests and metrics. */
    public int adapterSetsOpened() {
        return variants.opened();
    }

    /** The base model. */
    public ModelInfo model() {
        return base.info();
    }

    /** The refiner, if one was loaded. */
    public Optional<ModelInfo> refinerModel() {
        return refiner == null ? Optional.empty() : Optional.of(refiner.info());
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
        return base.defaultScheduler();
    }

    /**
     * Runs the base's text encoders on one prompt, as diffusers' {@code encode_prompt} (for callers
     * that cache or inspect embeddings).
     */
    public PromptEmbeds encodePrompt(String prompt) {
        return encodePrompt(prompt, 0);
    }

    /**
     * Runs the base's text encoders on one prompt with diffusers' {@code clip_skip}: the hidden states
     * of {@code hidden_states[-(clipSkip + 2)]}.
     *
     * @throws InvalidRequestException for the field {@code clipSkip} beyond the encoders' layers
     */
    public synchronized PromptEmbeds encodePrompt(String prompt, int clipSkip) {
        checkOpen();
        if (clipSkip < 0 || clipSkip > base.text().maxClipSkip()) {
            throw new InvalidRequestException("clipSkip", clipSkip, "is outside [0, " + base.text().maxClipSkip() + "]");
        }
        return base.text().encode(Objects.requireNonNull(prompt, "prompt"), PromptMode.DIFFUSERS, clipSkip);
    }

    /**
     * Checks that {@code request} fits this pipeline — everything {@link #generate} checks before any
     * work — without running it or waiting for a generation in progress.
     *
     * @throws InvalidRequestException naming the field that does not fit
     */
    public void check(GenerationRequest request) {
        checkOpen();
        Generation.resolve(base, refiner, options, Objects.requireNonNull(request, "request"));
    }

    /**
     * An estimate, in bytes, of the working memory {@code request} needs at its peak beyond the
     * loaded models, from the models' shapes: the UNet's attention score matrices at every level
     * and its activations for the request's batch (doubled by classifier-free guidance), the VAE's
     * mid-block attention over every latent position and its activations per image, the decoded
     * input images and the output pixels; and when the request's adapters are a set not open yet,
     * what the new variant would hold beyond the ones it replaces (up to twice the weights of the
     * text encoders and the UNet: its sessions and the merged weights; see
     * {@link #adapterMemory()}). Meant as an upper bound of the right order (the allocator's
     * rounding included), for admission control: a server compares it with its memory budget
     * less {@link #adapterMemory()} before running a request. Like {@link #check}, it fits the
     * request to the models first, runs nothing and does not wait for a generation in progress.
     *
     * @throws InvalidRequestException naming the field that does not fit, as {@link #check} does
     */
    public long estimatePeakMemory(GenerationRequest request) {
        checkOpen();
        var resolved = Generation.resolve(base, refiner, options, Objects.requireNonNull(request, "request"));
        return io.sdxl4j.pipeline.MemoryEstimate.peakBytes(base, resolved.refiner().isPresent() ? refiner : null,
                resolved) + variants.growthBytes(resolved.adapters());
    }

    /**
     * The memory, in bytes, the open adapter sets hold beyond the plain model, as counted for
     * {@link #estimatePeakMemory}: twice the weights of the text encoders and the UNet per set
     * open (at most {@link PipelineOptions#maxAdapterSets()}). Safe to call during a generation.
     */
    public long adapterMemory() {
        checkOpen();
        return variants.heldBytes();
    }

    /** Generates without progress reporting. */
    public GenerationResult generate(GenerationRequest request) {
        return generate(request, ProgressListener.NONE);
    }

    /**
     * Generates the request's images.
     *
     * @throws InvalidRequestException      when the request does not fit this pipeline, before any work
     * @throws GenerationCancelledException when the listener cancelled
     * @throws IllegalStateException        after {@link #close()}
     */
    public GenerationResult generate(GenerationRequest request, ProgressListener listener) {
        return generate(request, listener, TorchGenerator::new);
    }

    // The noise factory is a test seam: the conformance tests replay diffusers' recorded draws.
    synchronized GenerationResult generate(GenerationRequest request, ProgressListener listener,
                                           NoiseSource.Factory noise) {
        checkOpen();
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        StepProgress progress = new StepProgress();
        Output out = Generation.run(variants, refiner, options, engine.ops(), request, noise, new StepObserver() {
            @Override
            public void begin(HostTensor latents, Runnable refresh) {
                progress.bind(latents.floatBuffer().asReadOnlyBuffer(), latents.shape(), refresh);
            }

            @Override
            public boolean afterStep(int done, int total, double timestep, long elapsedNanos) {
                progress.update(done, total, timestep, elapsedNanos);
                listener.onStep(progress);
                return !progress.isCancelled();
            }
        });
        var r = out.request();
        List<GeneratedImage> images = new ArrayList<>(out.pixels().size());
        for (int i = 0; i < out.pixels().size(); i++) {
            images.add(new GeneratedImage(i, r.width(), r.height(), out.pixels().get(i), r.seed(), out.parameters(),
                    Duration.ofNanos(out.latentsNanos())));
        }
        return new GenerationResult(images, r.seed(), r.width(), r.height(), r.scheduler(), request.steps(),
                Duration.ofNanos(out.textNanos()), Duration.ofNanos(out.denoiseNanos()),
                Duration.ofNanos(out.decodeNanos()), Duration.ofNanos(out.totalNanos()));
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
        try (Scope scope = new Scope()) {
            scope.add(engine);
            scope.add(base);
            if (refiner != null) {
                scope.add(refiner);
            }
            scope.add(variants); // closed first: the variants share the base's VAE
        }
    }
}
