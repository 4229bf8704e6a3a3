// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.ImageSize;
import io.sdxl4j.ModelInfo;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SchedulerType;
import io.sdxl4j.SdxlException;
import io.sdxl4j.TimestepSpacing;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.scheduler.Scheduler;
import io.sdxl4j.scheduler.SchedulerConfig;
import io.sdxl4j.scheduler.Schedulers;
import io.sdxl4j.text.TextConditioner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Future;

/**
 * One model folder loaded for generation (the base, or the refiner): its text conditioning, UNet,
 * VAE decoder and (opened on first use) encoder, with the workspace and schedulers reused from one
 * generation to the next. A refiner whose VAE files are byte-identical to the base's uses the base's
 * VAE sessions instead of loading its own.
 */
public final class LoadedModel implements AutoCloseable {

    private final ModelFolder folder;
    private final Engine engine;
    private final TextConditioner text;
    private final UNet unet;
    private final VaeDecoder vae;
    private final LoadedModel vaeOwner;
    private final PipelineOptions options;
    private VaeEncoder encoder;
    private Workspace workspace;
    private final Map<String, Scheduler> schedulers = new HashMap<>();

    private LoadedModel(ModelFolder folder, Engine engine, TextConditioner text, UNet unet, VaeDecoder vae,
                        LoadedModel vaeOwner, PipelineOptions options) {
        this.folder = folder;
        this.options = options;
        this.engine = engine;
        this.text = text;
        this.unet = unet;
        this.vae = vae;
        this.vaeOwner = vaeOwner;
    }

    /**
     * Opens a model folder's components, checking each signature.
     *
     * @param shareWith a model whose VAE sessions to reuse when the VAE files are identical, or null
     */
    public static LoadedModel open(ModelFolder folder, Engine engine, LoadedModel shareWith, PipelineOptions options) {
        return open(folder, engine, shareWith, options, AdaptedWeights.of(folder, AdapterSet.NONE));
    }

    /**
     * Opens a variant of {@code base} with an adapter set: its text encoders and UNet with the
     * merged weights (and the embeddings' tokens), its VAE sessions shared with {@code base}.
     *
     * @throws io.sdxl4j.InvalidRequestException naming {@code loras} or {@code embeddings} when an
     *                                           adapter file does not fit the model
     */
    public static LoadedModel openVariant(LoadedModel base, AdapterSet adapters, PipelineOptions options) {
        return open(base.folder, base.engine, base, options, AdaptedWeights.of(base.folder, adapters));
    }

    // The components' sessions open side by side (each load and graph optimization is mostly one
    // thread's work): the text encoders, the UNet and the VAE decoder at once.
    private static LoadedModel open(ModelFolder folder, Engine engine, LoadedModel shareWith, PipelineOptions options,
                                    AdaptedWeights adapted) {
        LoadedModel owner = shareWith != null && sameFile(folder, shareWith.folder, Component.VAE_DECODER)
                && folder.vae().equals(shareWith.folder.vae()) ? shareWith.root() : null;
        TextConditioner.Adapted textWeights = adapted.text();
        Map<String, io.sdxl4j.tensor.HostTensor> unetWeights = adapted.unet();
        adapted.closeRest();
        try (var threads = java.util.concurrent.Executors.newThreadPerTaskExecutor(Thread.ofPlatform()
                .name("sdxl4j-load-", 0).factory())) {
            Future<TextConditioner> text = threads.submit(() -> TextConditioner.open(folder, engine, textWeights));
            Future<UNet> unet = threads.submit(() -> UNet.open(folder, engine, 0, 0, options, unetWeights));
            Future<VaeDecoder> vae = owner != null ? null : threads.submit(() -> VaeDecoder.open(folder, engine, options));
            // Every component is waited for; on a failure the others are closed and the first failure thrown.
            Scope opened = new Scope();
            RuntimeException failure = null;
            for (Future<? extends AutoCloseable> f : java.util.Arrays.asList(text, unet, vae)) {
                if (f == null) {
                    continue;
                }
                try {
                    opened.add(join(f));
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            try {
                if (failure != null) {
                    throw failure;
                }
                TextConditioner t = join(text);
                UNet u = join(unet);
                u.checkConditioning(t.hiddenSize(), t.pooledSize());
                opened.release();
                return new LoadedModel(folder, engine, t, u, vae == null ? owner.vae : join(vae), owner, options);
            } catch (RuntimeException e) {
                Scope.closeOnFailure(opened, e);
                throw e;
            }
        }
    }

    private static <T> T join(java.util.concurrent.Future<T> f) {
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new SdxlException(e.getCause().toString(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SdxlException("interrupted while loading the model", e);
        }
    }

    private LoadedModel root() {
        return vaeOwner == null ? this : vaeOwner;
    }

    private static boolean sameFile(ModelFolder a, ModelFolder b, Component c) {
        Path pa = a.onnx(c);
        Path pb = b.onnx(c);
        try {
            return Files.isRegularFile(pa) && Files.isRegularFile(pb) && Files.size(pa) == Files.size(pb)
                    && Files.mismatch(pa, pb) == -1;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public ModelFolder folder() {
        return folder;
    }

    public TextConditioner text() {
        return text;
    }

    public UNet unet() {
        return unet;
    }

    public VaeDecoder vae() {
        return vae;
    }

    /** True when this model decodes with another model's VAE sessions (identical files). */
    public boolean sharesVae() {
        return vaeOwner != null;
    }

    /**
     * The VAE encoder, opened on first use (only img2img and inpainting need it); shared like the
     * decoder when the encoder files are identical too.
     *
     * @throws SdxlException naming {@code vae_encoder/model.onnx} when the export lacks it
     */
    public VaeEncoder encoder() {
        if (vaeOwner != null && sameFile(folder, vaeOwner.folder, Component.VAE_ENCODER)) {
            return vaeOwner.encoder();
        }
        if (encoder == null) {
            encoder = VaeEncoder.open(folder, engine, options);
        }
        return encoder;
    }

    /** The workspace for a generation shape, replacing the previous one when the shape changed. */
    public Workspace workspace(int images, boolean guidance, int latentHeight, int latentWidth, int sequenceLength) {
        if (workspace != null && workspace.fits(images, guidance, latentHeight, latentWidth, sequenceLength)) {
            return workspace;
        }
        if (workspace != null) {
            workspace.close();
            workspace = null;
        }
        workspace = new Workspace(unet, engine.ops(), images, guidance, folder.vae().latentChannels(), latentHeight,
                latentWidth, sequenceLength, text.hiddenSize(), text.pooledSize());
        return workspace;
    }

    /**
     * The scheduler of a type built from this folder's {@code scheduler_config.json} (with a
     * timestep spacing override, or null), one instance per type and spacing, reused.
     */
    public Scheduler scheduler(SchedulerType type, TimestepSpacing spacing) {
        return schedulers.computeIfAbsent(type + "/" + spacing, key -> newScheduler(type, spacing));
    }

    /** A new scheduler of a type and spacing (or null) from this folder's config, owned by the caller. */
    public Scheduler newScheduler(SchedulerType type, TimestepSpacing spacing) {
        SchedulerConfig config = folder.schedulerConfig();
        if (spacing != null) {
            config = config.with("timestep_spacing", spacing.configValue());
        }
        return Schedulers.create(type, config);
    }

    /** The scheduler config's {@code num_train_timesteps} (1000 for SDXL). */
    public int trainTimesteps() {
        return folder.schedulerConfig().getInt("num_train_timesteps", 1000);
    }

    /** What the folder is, for the API. */
    public ModelInfo info() {
        int size = folder.defaultImageSize();
        return new ModelInfo(folder.name(), folder.dir(), folder.kind(), new ImageSize(size, size),
                folder.vae().scaleFactor(), unet.inChannels(), defaultScheduler(), folder.has(Component.VAE_ENCODER));
    }

    /** The scheduler type of this folder's {@code scheduler_config.json}. */
    public SchedulerType defaultScheduler() {
        String name = folder.schedulerConfig().className().orElse("EulerDiscreteScheduler");
        return SchedulerType.find(name).orElseThrow(() -> new SdxlException(folder.schedulerConfig().source()
                + ": _class_name " + name + " is not a scheduler sdxl4j implements; request one of "
                + SchedulerType.knownNames()));
    }

    @Override
    public void close() {
        if (workspace != null) {
            workspace.close();
            workspace = null;
        }
        schedulers.values().forEach(Scheduler::close);
        schedulers.clear();
        if (vaeOwner == null) {
            vae.close();
            if (encoder != null) {
                encoder.close();
            }
        }
        unet.close();
        text.close();
    }
}
