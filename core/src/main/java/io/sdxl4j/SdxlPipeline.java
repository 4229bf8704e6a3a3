// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.model.ModelKind;
import io.sdxl4j.pipeline.LoadedModel;
import io.sdxl4j.scheduler.SchedulerType;
import io.sdxl4j.text.PromptEmbeds;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * <p>A pipeline owns its ONNX sessions and buffers and frees them in {@link #close()}. Generations
 * on one pipeline run one at a time (calls from several threads queue); a bad request throws before
 * any work and leaves the pipeline usable.
 */
public final class SdxlPipeline implements AutoCloseable {

    private final PipelineOptions options;
    private final Engine engine;
    private final LoadedModel base;
    private final LoadedModel refiner;
    private boolean closed;

    private SdxlPipeline(PipelineOptions options, Engine engine, LoadedModel base, LoadedModel refiner) {
        this.options = options;
        this.engine = engine;
        this.base = base;
        this.refiner = refiner;
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
        return load(modelDir, null, options);
    }

    /**
     * Loads an SDXL base export and, when {@code refinerDir} is not null, an SDXL refiner export
     * (used by requests with a {@link RefinerMode}). The refiner reuses the base's VAE when its VAE
     * files are identical.
     *
     * @throws SdxlException naming the folder or file that is not a usable base or refiner export
     */
    public static SdxlPipeline load(Path modelDir, Path refinerDir, PipelineOptions options) {
        ModelFolder folder = ModelFolder.open(modelDir);
        if (folder.kind() != ModelKind.BASE) {
            throw new SdxlException(folder.dir() + ": an SDXL refiner export (no text_encoder); a pipeline needs a"
                    + " base export with both text encoders, and takes the refiner as its second folder");
        }
        ModelFolder refinerFolder = refinerDir == null ? null : ModelFolder.open(refinerDir);
        if (refinerFolder != null && refinerFolder.kind() != ModelKind.REFINER) {
            throw new SdxlException(refinerFolder.dir() + ": not an SDXL refiner export (it has text_encoder;"
                    + " a refiner has text_encoder_2 only and 5 time ids)");
        }
        Engine engine = Engines.create(options);
        List<AutoCloseable> opened = new ArrayList<>();
        opened.add(engine);
        try {
            LoadedModel base = LoadedModel.open(folder, engine, null);
            opened.add(base);
            LoadedModel refiner = refinerFolder == null ? null : LoadedModel.open(refinerFolder, engine, base);
            return new SdxlPipeline(options, engine, base, refiner);
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

    /** The base model folder. */
    public ModelFolder model() {
        return base.folder();
    }

    /** The refiner folder, if one was loaded. */
    public Optional<ModelFolder> refinerModel() {
        return refiner == null ? Optional.empty() : Optional.of(refiner.folder());
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

    /** Runs the base's text encoders on one prompt (for callers that cache or inspect embeddings). */
    public synchronized PromptEmbeds encodePrompt(String prompt) {
        checkOpen();
        return base.text().encode(prompt);
    }

    /** Generates without progress reporting. */
    public GenerationResult generate(GenerationRequest request) {
        return generate(request, ProgressListener.NONE);
    }

    /**
     * Generates the request's images.
     *
     * @throws GenerationCancelledException when the listener cancelled
     * @throws IllegalArgumentException     when the request does not fit this pipeline (size, refiner)
     * @throws IllegalStateException        after {@link #close()}
     */
    public synchronized GenerationResult generate(GenerationRequest request, ProgressListener listener) {
        checkOpen();
        return new Generation(base, refiner, engine.ops(), request, listener).run();
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
        if (refiner != null) {
            refiner.close();
        }
        base.close();
        engine.close();
    }
}
