// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What to generate. A request is shaped by its modes: the {@link GenerationMode} (text to image,
 * img2img with its image and strength, inpainting with its image, mask, strength and blur) and
 * the optional {@link Refiner} (an ensemble with its hand-over point, or a second pass with its
 * strength and steps) carry exactly their own fields, so nothing that does not apply can be set;
 * the rest applies to every mode. Immutable and validated when built: a bad field throws
 * {@link InvalidRequestException} naming it. What can only be checked against a model (a size
 * that must be a multiple of its VAE's scale factor, a refiner the pipeline must have) is checked
 * by the pipeline, also before any work.
 *
 * <pre>{@code
 * GenerationRequest.builder("a lighthouse on a cliff at dawn")
 *         .negativePrompt("blurry")
 *         .size(1024, 1024).steps(30).guidanceScale(5.0).seed(42)
 *         .mode(GenerationMode.imageToImage(ImageInput.read(photo)).withStrength(0.6))
 *         .refiner(Refiner.ensemble().withHighNoiseFraction(0.8))
 *         .build();
 * }</pre>
 */
public final class GenerationRequest {

    /** Largest width or height accepted. */
    public static final int MAX_SIZE = 4096;
    /** Most images per request. */
    public static final int MAX_SAMPLES = 16;
    /** Most inference steps. */
    public static final int MAX_STEPS = 1000;
    /** Largest {@link #clipSkip()}. */
    public static final int MAX_CLIP_SKIP = 10;
    /** Largest guidance scale. */
    public static final double MAX_GUIDANCE_SCALE = 100;
    /** Most LoRA files, and most embeddings, per request. */
    public static final int MAX_ADAPTERS = 16;

    private final String prompt;
    private final NegativePrompt negativePrompt;
    private final GenerationMode mode;
    private final Integer width;
    private final Integer height;
    private final int steps;
    private final double guidanceScale;
    private final double guidanceRescale;
    private final int samples;
    private final Long seed;
    private final SchedulerType scheduler;
    private final TimestepSpacing timestepSpacing;
    private final SizeConditioning sizeConditioning;
    private final int clipSkip;
    private final StylePreset style;
    private final PromptMode promptMode;
    private final Refiner refiner;
    private final boolean watermark;
    private final List<Lora> loras;
    private final List<Embedding> embeddings;

    private GenerationRequest(Builder b) {
        checkSide("width", b.width, b.mode);
        checkSide("height", b.height, b.mode);
        if (b.steps < 1 || b.steps > MAX_STEPS) {
            throw new InvalidRequestException("steps", b.steps, "is outside [1, " + MAX_STEPS + "]");
        }
        if (!(b.guidanceScale >= 0 && b.guidanceScale <= MAX_GUIDANCE_SCALE)) {
            throw new InvalidRequestException("guidanceScale", b.guidanceScale, "is outside [0, "
                    + (int) MAX_GUIDANCE_SCALE + "]");
        }
        if (!(b.guidanceRescale >= 0 && b.guidanceRescale <= 1)) {
            throw new InvalidRequestException("guidanceRescale", b.guidanceRescale, "is outside [0, 1]");
        }
        if (b.samples < 1 || b.samples > MAX_SAMPLES) {
            throw new InvalidRequestException("samples", b.samples, "is outside [1, " + MAX_SAMPLES + "]");
        }
        if (b.seed != null && b.seed < 0) {
            throw new InvalidRequestException("seed", b.seed, "is negative");
        }
        if (b.clipSkip < 0 || b.clipSkip > MAX_CLIP_SKIP) {
            throw new InvalidRequestException("clipSkip", b.clipSkip, "is outside [0, " + MAX_CLIP_SKIP + "]");
        }
        if (b.loras.size() > MAX_ADAPTERS) {
            throw new InvalidRequestException("loras", b.loras.size() + " files", "are more than " + MAX_ADAPTERS);
        }
        if (b.embeddings.size() > MAX_ADAPTERS) {
            throw new InvalidRequestException("embeddings", b.embeddings.size() + " files", "are more than "
                    + MAX_ADAPTERS);
        }
        this.prompt = b.prompt;
        this.negativePrompt = b.negativePrompt;
        this.mode = b.mode;
        this.width = b.width;
        this.height = b.height;
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
        this.guidanceRescale = b.guidanceRescale;
        this.samples = b.samples;
        this.seed = b.seed;
        this.scheduler = b.scheduler;
        this.timestepSpacing = b.timestepSpacing;
        this.sizeConditioning = b.sizeConditioning;
        this.clipSkip = b.clipSkip;
        this.style = b.style;
        this.promptMode = b.promptMode;
        this.refiner = b.refiner;
        this.watermark = b.watermark;
        this.loras = List.copyOf(b.loras);
        this.embeddings = List.copyOf(b.embeddings);
    }

    // diffusers' text-to-image pipeline requires multiples of 8; img2img and inpainting only the VAE's
    // scale factor, which the pipeline checks against its model.
    private static void checkSide(String field, Integer value, GenerationMode mode) {
        if (value == null) {
            return;
        }
        boolean textToImage = mode instanceof GenerationMode.TextToImage;
        if (value < 8 || value > MAX_SIZE || textToImage && value % 8 != 0) {
            throw new InvalidRequestException(field, value, textToImage
                    ? "is not a multiple of 8 in [8, " + MAX_SIZE + "]" : "is outside [8, " + MAX_SIZE + "]");
        }
    }

    /** A builder for a text-to-image request with this prompt and every other value at its default. */
    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    /** The prompt (may be empty). */
    public String prompt() {
        return prompt;
    }

    /** The negative prompt. Default {@link NegativePrompt#NONE}: zero embeddings on SDXL base. */
    public NegativePrompt negativePrompt() {
        return negativePrompt;
    }

    /** What the generation starts from. Default {@link GenerationMode#textToImage()}. */
    public GenerationMode mode() {
        return mode;
    }

    /**
     * Image width in pixels, 8 to 4096 (a multiple of 8 for text to image, of the VAE's scale factor
     * otherwise). Default: the model's (1024 for SDXL) for text to image, the input image's for the
     * other modes.
     */
    public OptionalInt width() {
        return width == null ? OptionalInt.empty() : OptionalInt.of(width);
    }

    /** Image height in pixels; see {@link #width()}. */
    public OptionalInt height() {
        return height == null ? OptionalInt.empty() : OptionalInt.of(height);
    }

    /** Inference steps, 1 to 1000. Default 30. */
    public int steps() {
        return steps;
    }

    /** Classifier-free guidance scale in [0, 100]; at most 1 runs without guidance (one UNet batch). Default 5.0. */
    public double guidanceScale() {
        return guidanceScale;
    }

    /** Guidance rescale φ of Lin et al. 2023, §3.4, in [0, 1]. Default 0 (off). */
    public double guidanceRescale() {
        return guidanceRescale;
    }

    /** Images to generate for the prompt ({@code num_images_per_prompt}), 1 to 16. Default 1. */
    public int samples() {
        return samples;
    }

    /** The seed of the noise generator (≥ 0). Default: a random seed, reported in the result. */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    /** The scheduler. Default: the class of the model's {@code scheduler_config.json}. */
    public Optional<SchedulerType> scheduler() {
        return Optional.ofNullable(scheduler);
    }

    /**
     * Overrides the scheduler config's {@code timestep_spacing}, as
     * {@code from_config(config, timestep_spacing="trailing")} does for SDXL-Turbo/Lightning-style
     * few-step models. Default: the model's config.
     */
    public Optional<TimestepSpacing> timestepSpacing() {
        return Optional.ofNullable(timestepSpacing);
    }

    /** SDXL's size conditioning. Default {@link SizeConditioning#DEFAULT} (the image size, no crop). */
    public SizeConditioning sizeConditioning() {
        return sizeConditioning;
    }

    /**
     * diffusers' {@code clip_skip}: both text encoders condition on
     * {@code hidden_states[-(clipSkip + 2)]} instead of the penultimate layer; 0 to 10. Default 0 (the
     * penultimate layer, as SDXL was trained). A1111's "Clip skip" N is {@code clipSkip = N − 1}.
     */
    public int clipSkip() {
        return clipSkip;
    }

    /** A style preset wrapped around the prompt. Default: none. */
    public Optional<StylePreset> style() {
        return Optional.ofNullable(style);
    }

    /** How the prompt text is read. Default {@link PromptMode#DIFFUSERS}. */
    public PromptMode promptMode() {
        return promptMode;
    }

    /** The refiner's part. Default: none (the base alone). */
    public Optional<Refiner> refiner() {
        return Optional.ofNullable(refiner);
    }

    /**
     * Whether the images get SDXL's invisible watermark as diffusers' {@code StableDiffusionXLWatermarker}
     * applies it (imwatermark's {@code dwtDct} with Stability AI's 48-bit message; images narrower
     * than 256 pixels are left alone, as diffusers does). Default false, as diffusers without the
     * {@code invisible-watermark} package; Replicate's API turns it on by default.
     */
    public boolean watermark() {
        return watermark;
    }

    /**
     * LoRA / LyCORIS adapters merged into the model for this request, with their scales, added to
     * the pipeline's own ({@link PipelineOptions#loras()}); in {@link PromptMode#A1111} mode the
     * prompt's {@code <lora:name:scale>} tags add theirs. A set of adapters is a model variant: its
     * sessions are made on first use and kept (up to {@link PipelineOptions#maxAdapterSets()}). The
     * refiner runs without adapters. Default: none.
     */
    public List<Lora> loras() {
        return loras;
    }

    /**
     * Textual-inversion embeddings loaded into both text encoders for this request, after the
     * pipeline's own ({@link PipelineOptions#embeddings()}), as diffusers' {@code load_textual_inversion}
     * does. Default: none.
     */
    public List<Embedding> embeddings() {
        return embeddings;
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        Builder b = new Builder(prompt);
        b.negativePrompt = negativePrompt;
        b.mode = mode;
        b.width = width;
        b.height = height;
        b.steps = steps;
        b.guidanceScale = guidanceScale;
        b.guidanceRescale = guidanceRescale;
        b.samples = samples;
        b.seed = seed;
        b.scheduler = scheduler;
        b.timestepSpacing = timestepSpacing;
        b.sizeConditioning = sizeConditioning;
        b.clipSkip = clipSkip;
        b.style = style;
        b.promptMode = promptMode;
        b.refiner = refiner;
        b.watermark = watermark;
        b.loras = new ArrayList<>(loras);
        b.embeddings = new ArrayList<>(embeddings);
        return b;
    }

    private Object[] values() {
        return new Object[] {prompt, negativePrompt, mode, width, height, steps, guidanceScale, guidanceRescale,
            samples, seed, scheduler, timestepSpacing, sizeConditioning, clipSkip, style, promptMode, refiner, watermark,
            loras, embeddings};
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationRequest other && java.util.Arrays.equals(values(), other.values());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(values());
    }

    @Override
    public String toString() {
        String p = prompt.length() > 80 ? prompt.substring(0, 80) + "…" : prompt;
        return "GenerationRequest[prompt=" + p + ", negativePrompt=" + negativePrompt + ", mode=" + mode
                + ", size=" + (width == null ? "default" : width) + "x" + (height == null ? "default" : height)
                + ", steps=" + steps + ", guidance=" + guidanceScale
                + (guidanceRescale > 0 ? ", rescale=" + guidanceRescale : "") + ", samples=" + samples
                + ", seed=" + (seed == null ? "random" : seed) + ", scheduler=" + (scheduler == null ? "model's"
                : scheduler.shortName()) + (timestepSpacing == null ? "" : ", spacing=" + timestepSpacing)
                + (sizeConditioning.equals(SizeConditioning.DEFAULT) ? "" : ", " + sizeConditioning)
                + (clipSkip > 0 ? ", clipSkip=" + clipSkip : "") + (style == null ? "" : ", style=" + style.name())
                + ", promptMode=" + promptMode + (refiner == null ? "" : ", refiner=" + refiner)
                + (watermark ? ", watermark" : "") + (loras.isEmpty() ? "" : ", loras=" + loras)
                + (embeddings.isEmpty() ? "" : ", embeddings=" + embeddings) + "]";
    }

    /**
     * Builds a {@link GenerationRequest}; {@link #build()} validates the whole request. Setters take
     * non-null values; every value has the default its getter documents.
     */
    public static final class Builder {
        private String prompt;
        private NegativePrompt negativePrompt = NegativePrompt.NONE;
        private GenerationMode mode = GenerationMode.textToImage();
        private Integer width;
        private Integer height;
        private int steps = 30;
        private double guidanceScale = 5.0;
        private double guidanceRescale;
        private int samples = 1;
        private Long seed;
        private SchedulerType scheduler;
        private TimestepSpacing timestepSpacing;
        private SizeConditioning sizeConditioning = SizeConditioning.DEFAULT;
        private int clipSkip;
        private StylePreset style;
        private PromptMode promptMode = PromptMode.DIFFUSERS;
        private Refiner refiner;
        private boolean watermark;
        private List<Lora> loras = new ArrayList<>();
        private List<Embedding> embeddings = new ArrayList<>();

        private Builder(String prompt) {
            prompt(prompt);
        }

        /** The prompt (may be empty, not null). */
        public Builder prompt(String value) {
            if (value == null) {
                throw new InvalidRequestException("prompt", null, "missing");
            }
            this.prompt = value;
            return this;
        }

        /** A negative prompt text (may be empty, which differs from none). */
        public Builder negativePrompt(String text) {
            this.negativePrompt = NegativePrompt.of(text);
            return this;
        }

        public Builder negativePrompt(NegativePrompt value) {
            this.negativePrompt = Objects.requireNonNull(value, "negativePrompt");
            return this;
        }

        /** What the generation starts from: {@link GenerationMode#imageToImage}, {@link GenerationMode#inpaint}. */
        public Builder mode(GenerationMode value) {
            this.mode = Objects.requireNonNull(value, "mode");
            return this;
        }

        public Builder width(int value) {
            this.width = value;
            return this;
        }

        public Builder height(int value) {
            this.height = value;
            return this;
        }

        /** Width and height. */
        public Builder size(int w, int h) {
            return width(w).height(h);
        }

        /** Forgets width and height: the model's size, or the input image's. */
        public Builder defaultSize() {
            this.width = null;
            this.height = null;
            return this;
        }

        public Builder steps(int value) {
            this.steps = value;
            return this;
        }

        public Builder guidanceScale(double value) {
            this.guidanceScale = value;
            return this;
        }

        public Builder guidanceRescale(double value) {
            this.guidanceRescale = value;
            return this;
        }

        public Builder samples(int value) {
            this.samples = value;
            return this;
        }

        public Builder seed(long value) {
            this.seed = value;
            return this;
        }

        /** Forgets the seed, so that each generation draws a random one. */
        public Builder randomSeed() {
            this.seed = null;
            return this;
        }

        public Builder scheduler(SchedulerType value) {
            this.scheduler = Objects.requireNonNull(value, "scheduler");
            return this;
        }

        /**
         * The scheduler by any of its names ({@code euler}, {@code EulerDiscreteScheduler},
         * {@code K_EULER}, {@code DPM++ 2M Karras}).
         *
         * @throws InvalidRequestException for the field {@code scheduler} for an unknown name
         */
        public Builder scheduler(String name) {
            this.scheduler = SchedulerType.parse(name);
            return this;
        }

        /** Back to the model's scheduler. */
        public Builder defaultScheduler() {
            this.scheduler = null;
            return this;
        }

        public Builder timestepSpacing(TimestepSpacing value) {
            this.timestepSpacing = Objects.requireNonNull(value, "timestepSpacing");
            return this;
        }

        public Builder sizeConditioning(SizeConditioning value) {
            this.sizeConditioning = Objects.requireNonNull(value, "sizeConditioning");
            return this;
        }

        public Builder clipSkip(int value) {
            this.clipSkip = value;
            return this;
        }

        public Builder style(StylePreset value) {
            this.style = Objects.requireNonNull(value, "style");
            return this;
        }

        /**
         * A style preset by name ({@code cinematic}, {@code anime}, …).
         *
         * @throws InvalidRequestException for the field {@code style} for an unknown name
         */
        public Builder style(String name) {
            this.style = StylePreset.parse(name);
            return this;
        }

        /** No style preset. */
        public Builder noStyle() {
            this.style = null;
            return this;
        }

        public Builder promptMode(PromptMode value) {
            this.promptMode = Objects.requireNonNull(value, "promptMode");
            return this;
        }

        /** The refiner's part: {@link Refiner#ensemble()} or {@link Refiner#secondPass()}. */
        public Builder refiner(Refiner value) {
            this.refiner = Objects.requireNonNull(value, "refiner");
            return this;
        }

        /** No refiner. */
        public Builder noRefiner() {
            this.refiner = null;
            return this;
        }

        /** Adds a LoRA file with its scale (see {@link GenerationRequest#loras()}). */
        public Builder lora(Path file, double scale) {
            return lora(Lora.of(file, scale));
        }

        /** Adds a LoRA adapter. */
        public Builder lora(Lora value) {
            loras.add(Objects.requireNonNull(value, "lora"));
            return this;
        }

        /** The LoRA adapters, replacing any added before. */
        public Builder loras(List<Lora> values) {
            this.loras = new ArrayList<>(values);
            return this;
        }

        /** Adds a textual-inversion embedding (see {@link GenerationRequest#embeddings()}). */
        public Builder embedding(Embedding value) {
            embeddings.add(Objects.requireNonNull(value, "embedding"));
            return this;
        }

        /** The embeddings, replacing any added before. */
        public Builder embeddings(List<Embedding> values) {
            this.embeddings = new ArrayList<>(values);
            return this;
        }

        /** SDXL's invisible watermark on the images (see {@link GenerationRequest#watermark()}). */
        public Builder watermark(boolean enabled) {
            this.watermark = enabled;
            return this;
        }

        /**
         * Builds the request.
         *
         * @throws InvalidRequestException naming the first invalid field and its value
         */
        public GenerationRequest build() {
            return new GenerationRequest(this);
        }
    }
}
