// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.scheduler.SchedulerType;
import io.sdxl4j.scheduler.TimestepSpacing;
import io.sdxl4j.text.PromptMode;
import io.sdxl4j.text.StylePreset;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What to generate: prompt, size, steps, guidance, seed, scheduler, SDXL's size conditioning; an
 * input image (img2img) and a mask (inpainting); the refiner; a style preset. Immutable and
 * validated when built: a bad field throws {@link IllegalArgumentException} naming the field and
 * the value. Defaults are documented on each getter; unset size and scheduler take the model's own
 * (diffusers' behaviour), or the input image's size.
 */
public final class GenerationRequest {

    /** Largest width or height accepted. */
    public static final int MAX_SIZE = 4096;
    /** Most images per request. */
    public static final int MAX_SAMPLES = 16;
    /** Most inference steps. */
    public static final int MAX_STEPS = 1000;

    private final String prompt;
    private final String negativePrompt;
    private final Integer width;
    private final Integer height;
    private final int steps;
    private final double guidanceScale;
    private final double guidanceRescale;
    private final int samples;
    private final Long seed;
    private final SchedulerType scheduler;
    private final TimestepSpacing timestepSpacing;
    private final ImageSize originalSize;
    private final ImageSize targetSize;
    private final CropCoords cropsCoordsTopLeft;
    private final ImageSize negativeOriginalSize;
    private final ImageSize negativeTargetSize;
    private final CropCoords negativeCropsCoordsTopLeft;
    private final NoiseSource.Factory noise;
    private final ImageInput image;
    private final ImageInput mask;
    private final double strength;
    private final int maskBlur;
    private final RefinerMode refiner;
    private final double highNoiseFraction;
    private final double refinerStrength;
    private final Integer refinerSteps;
    private final Long refinerSeed;
    private final double aestheticScore;
    private final double negativeAestheticScore;
    private final StylePreset style;
    private final PromptMode promptMode;

    private GenerationRequest(Builder b) {
        if (b.prompt == null) {
            throw new IllegalArgumentException("prompt: missing");
        }
        checkSize("width", b.width);
        checkSize("height", b.height);
        if (b.steps < 1 || b.steps > MAX_STEPS) {
            throw new IllegalArgumentException("steps: " + b.steps + " is outside [1, " + MAX_STEPS + "]");
        }
        if (!Double.isFinite(b.guidanceScale) || b.guidanceScale < 0) {
            throw new IllegalArgumentException("guidanceScale: " + b.guidanceScale + " is not a finite number >= 0");
        }
        if (!Double.isFinite(b.guidanceRescale) || b.guidanceRescale < 0 || b.guidanceRescale > 1) {
            throw new IllegalArgumentException("guidanceRescale: " + b.guidanceRescale + " is outside [0, 1]");
        }
        if (b.samples < 1 || b.samples > MAX_SAMPLES) {
            throw new IllegalArgumentException("samples: " + b.samples + " is outside [1, " + MAX_SAMPLES + "]");
        }
        if (!(b.strength > 0 && b.strength <= 1)) {
            throw new IllegalArgumentException("strength: " + b.strength + " is outside (0, 1]");
        }
        if (b.mask != null && b.image == null) {
            throw new IllegalArgumentException("mask: given without an image to inpaint");
        }
        if (b.mask != null && (b.mask.width() != b.image.width() || b.mask.height() != b.image.height())) {
            throw new IllegalArgumentException("mask: " + b.mask.width() + "x" + b.mask.height()
                    + " does not match the image's " + b.image.width() + "x" + b.image.height());
        }
        if (b.maskBlur < 0) {
            throw new IllegalArgumentException("maskBlur: " + b.maskBlur + " is negative");
        }
        if (!(b.highNoiseFraction > 0 && b.highNoiseFraction < 1)) {
            throw new IllegalArgumentException("highNoiseFraction: " + b.highNoiseFraction + " is outside (0, 1)");
        }
        if (!(b.refinerStrength > 0 && b.refinerStrength <= 1)) {
            throw new IllegalArgumentException("refinerStrength: " + b.refinerStrength + " is outside (0, 1]");
        }
        if (b.refinerSteps != null && (b.refinerSteps < 1 || b.refinerSteps > MAX_STEPS)) {
            throw new IllegalArgumentException("refinerSteps: " + b.refinerSteps + " is outside [1, " + MAX_STEPS
                    + "]");
        }
        if (!Double.isFinite(b.aestheticScore) || !Double.isFinite(b.negativeAestheticScore)) {
            throw new IllegalArgumentException("aestheticScore: " + b.aestheticScore + "/" + b.negativeAestheticScore
                    + " is not finite");
        }
        this.prompt = b.prompt;
        this.negativePrompt = b.negativePrompt;
        this.width = b.width;
        this.height = b.height;
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
        this.guidanceRescale = b.guidanceRescale;
        this.samples = b.samples;
        this.seed = b.seed;
        this.scheduler = b.scheduler;
        this.timestepSpacing = b.timestepSpacing;
        this.originalSize = b.originalSize;
        this.targetSize = b.targetSize;
        this.cropsCoordsTopLeft = b.cropsCoordsTopLeft;
        this.negativeOriginalSize = b.negativeOriginalSize;
        this.negativeTargetSize = b.negativeTargetSize;
        this.negativeCropsCoordsTopLeft = b.negativeCropsCoordsTopLeft;
        this.noise = b.noise;
        this.image = b.image;
        this.mask = b.mask;
        this.strength = b.strength;
        this.maskBlur = b.maskBlur;
        this.refiner = b.refiner;
        this.highNoiseFraction = b.highNoiseFraction;
        this.refinerStrength = b.refinerStrength;
        this.refinerSteps = b.refinerSteps;
        this.refinerSeed = b.refinerSeed;
        this.aestheticScore = b.aestheticScore;
        this.negativeAestheticScore = b.negativeAestheticScore;
        this.style = b.style;
        this.promptMode = b.promptMode;
    }

    private static void checkSize(String field, Integer value) {
        if (value != null && (value < 8 || value % 8 != 0 || value > MAX_SIZE)) {
            throw new IllegalArgumentException(field + ": " + value + " is not a positive multiple of 8 up to "
                    + MAX_SIZE);
        }
    }

    /** A builder with the prompt set. */
    public static Builder builder(String prompt) {
        return new Builder().prompt(prompt);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The prompt. Required; may be empty. */
    public String prompt() {
        return prompt;
    }

    /**
     * The negative prompt. Empty when none was given: SDXL base then uses zero embeddings for the
     * unconditional branch ({@code force_zeros_for_empty_prompt}), which differs from an empty
     * string (encoded like any prompt).
     */
    public Optional<String> negativePrompt() {
        return Optional.ofNullable(negativePrompt);
    }

    /** Image width in pixels, a multiple of 8; default the model's (1024 for SDXL). */
    public OptionalInt width() {
        return width == null ? OptionalInt.empty() : OptionalInt.of(width);
    }

    /** Image height in pixels, a multiple of 8; default the model's (1024 for SDXL). */
    public OptionalInt height() {
        return height == null ? OptionalInt.empty() : OptionalInt.of(height);
    }

    /** Inference steps, 1 to 1000. Default 30. */
    public int steps() {
        return steps;
    }

    /** Classifier-free guidance scale; at most 1 runs without guidance (one UNet batch). Default 5.0. */
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

    /** The seed of the noise generator; default a random seed, reported in the result. */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    /** The scheduler; default the model's {@code scheduler_config.json} class. */
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

    /** SDXL's {@code original_size} conditioning; default the image size. */
    public Optional<ImageSize> originalSize() {
        return Optional.ofNullable(originalSize);
    }

    /** SDXL's {@code target_size} conditioning; default the image size. */
    public Optional<ImageSize> targetSize() {
        return Optional.ofNullable(targetSize);
    }

    /** SDXL's {@code crops_coords_top_left} conditioning. Default (0, 0). */
    public CropCoords cropsCoordsTopLeft() {
        return cropsCoordsTopLeft;
    }

    /**
     * {@code negative_original_size}: used for the unconditional rows only when the negative target
     * size is also given, as diffusers does.
     */
    public Optional<ImageSize> negativeOriginalSize() {
        return Optional.ofNullable(negativeOriginalSize);
    }

    /** {@code negative_target_size}: see {@link #negativeOriginalSize()}. */
    public Optional<ImageSize> negativeTargetSize() {
        return Optional.ofNullable(negativeTargetSize);
    }

    /** {@code negative_crops_coords_top_left}. Default (0, 0). */
    public CropCoords negativeCropsCoordsTopLeft() {
        return negativeCropsCoordsTopLeft;
    }

    /** Makes the generation's noise from its seed. Default {@link TorchGenerator} (torch's CPU generator). */
    public NoiseSource.Factory noise() {
        return noise;
    }

    /** The img2img or inpainting source image; empty for text to image. */
    public Optional<ImageInput> image() {
        return Optional.ofNullable(image);
    }

    /** The inpainting mask (white repaints, black keeps), the image's size; empty unless inpainting. */
    public Optional<ImageInput> mask() {
        return Optional.ofNullable(mask);
    }

    /**
     * How much of the schedule img2img and inpainting run, in (0, 1]: 1 starts from pure noise.
     * Default 0.8 (the hosted APIs' {@code prompt_strength}).
     */
    public double strength() {
        return strength;
    }

    /** Gaussian blur radius applied to the mask before it is binarised. Default 0 (none, as diffusers). */
    public int maskBlur() {
        return maskBlur;
    }

    /** Whether and how the refiner runs. Default {@link RefinerMode#NONE}. */
    public RefinerMode refiner() {
        return refiner;
    }

    /** Where the ensemble hands over from base to refiner, in (0, 1). Default 0.8. */
    public double highNoiseFraction() {
        return highNoiseFraction;
    }

    /** The refiner's img2img strength in base-then-refiner mode, in (0, 1]. Default 0.3. */
    public double refinerStrength() {
        return refinerStrength;
    }

    /** The refiner's steps in base-then-refiner mode; default the request's steps. */
    public OptionalInt refinerSteps() {
        return refinerSteps == null ? OptionalInt.empty() : OptionalInt.of(refinerSteps);
    }

    /** The seed of the refiner's own generator; default the request's seed. */
    public OptionalLong refinerSeed() {
        return refinerSeed == null ? OptionalLong.empty() : OptionalLong.of(refinerSeed);
    }

    /** The refiner's aesthetic-score conditioning. Default 6.0 (diffusers'). */
    public double aestheticScore() {
        return aestheticScore;
    }

    /** The refiner's aesthetic score for the unconditional rows. Default 2.5 (diffusers'). */
    public double negativeAestheticScore() {
        return negativeAestheticScore;
    }

    /** A style preset wrapped around the prompt; empty for none. */
    public Optional<StylePreset> style() {
        return Optional.ofNullable(style);
    }

    /** How the prompt text is read. Default {@link PromptMode#DIFFUSERS}. */
    public PromptMode promptMode() {
        return promptMode;
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.prompt = prompt;
        b.negativePrompt = negativePrompt;
        b.width = width;
        b.height = height;
        b.steps = steps;
        b.guidanceScale = guidanceScale;
        b.guidanceRescale = guidanceRescale;
        b.samples = samples;
        b.seed = seed;
        b.scheduler = scheduler;
        b.timestepSpacing = timestepSpacing;
        b.originalSize = originalSize;
        b.targetSize = targetSize;
        b.cropsCoordsTopLeft = cropsCoordsTopLeft;
        b.negativeOriginalSize = negativeOriginalSize;
        b.negativeTargetSize = negativeTargetSize;
        b.negativeCropsCoordsTopLeft = negativeCropsCoordsTopLeft;
        b.noise = noise;
        b.image = image;
        b.mask = mask;
        b.strength = strength;
        b.maskBlur = maskBlur;
        b.refiner = refiner;
        b.highNoiseFraction = highNoiseFraction;
        b.refinerStrength = refinerStrength;
        b.refinerSteps = refinerSteps;
        b.refinerSeed = refinerSeed;
        b.aestheticScore = aestheticScore;
        b.negativeAestheticScore = negativeAestheticScore;
        b.style = style;
        b.promptMode = promptMode;
        return b;
    }

    @Override
    public String toString() {
        return "GenerationRequest[prompt=" + prompt + ", negativePrompt=" + negativePrompt + ", size=" + width + "x"
                + height + ", steps=" + steps + ", guidance=" + guidanceScale + ", samples=" + samples + ", seed="
                + seed + ", scheduler=" + scheduler + (timestepSpacing == null ? "" : ", spacing=" + timestepSpacing) + "]";
    }

    /** Builds a {@link GenerationRequest}; {@link #build()} validates every field. */
    public static final class Builder {
        private String prompt;
        private String negativePrompt;
        private Integer width;
        private Integer height;
        private int steps = 30;
        private double guidanceScale = 5.0;
        private double guidanceRescale;
        private int samples = 1;
        private Long seed;
        private SchedulerType scheduler;
        private TimestepSpacing timestepSpacing;
        private ImageSize originalSize;
        private ImageSize targetSize;
        private CropCoords cropsCoordsTopLeft = CropCoords.NONE;
        private ImageSize negativeOriginalSize;
        private ImageSize negativeTargetSize;
        private CropCoords negativeCropsCoordsTopLeft = CropCoords.NONE;
        private NoiseSource.Factory noise = TorchGenerator::new;
        private ImageInput image;
        private ImageInput mask;
        private double strength = 0.8;
        private int maskBlur;
        private RefinerMode refiner = RefinerMode.NONE;
        private double highNoiseFraction = 0.8;
        private double refinerStrength = 0.3;
        private Integer refinerSteps;
        private Long refinerSeed;
        private double aestheticScore = 6.0;
        private double negativeAestheticScore = 2.5;
        private StylePreset style;
        private PromptMode promptMode = PromptMode.DIFFUSERS;

        private Builder() {
        }

        /** The source image: img2img, or inpainting with {@link #mask}; null for text to image. */
        public Builder image(ImageInput value) {
            this.image = value;
            return this;
        }

        /** The inpainting mask: white repaints, black keeps; the image's size. */
        public Builder mask(ImageInput value) {
            this.mask = value;
            return this;
        }

        public Builder strength(double value) {
            this.strength = value;
            return this;
        }

        public Builder maskBlur(int radius) {
            this.maskBlur = radius;
            return this;
        }

        public Builder refiner(RefinerMode value) {
            this.refiner = Objects.requireNonNull(value, "refiner");
            return this;
        }

        public Builder highNoiseFraction(double value) {
            this.highNoiseFraction = value;
            return this;
        }

        public Builder refinerStrength(double value) {
            this.refinerStrength = value;
            return this;
        }

        public Builder refinerSteps(int value) {
            this.refinerSteps = value;
            return this;
        }

        public Builder refinerSeed(long value) {
            this.refinerSeed = value;
            return this;
        }

        public Builder aestheticScore(double positive, double negative) {
            this.aestheticScore = positive;
            this.negativeAestheticScore = negative;
            return this;
        }

        public Builder style(StylePreset value) {
            this.style = value;
            return this;
        }

        /**
         * A style preset by name ({@code cinematic}, {@code anime}, …); null for none.
         *
         * @throws IllegalArgumentException naming the field {@code style} for an unknown name
         */
        public Builder style(String name) {
            this.style = name == null ? null : StylePreset.parse(name);
            return this;
        }

        public Builder promptMode(PromptMode value) {
            this.promptMode = Objects.requireNonNull(value, "promptMode");
            return this;
        }

        public Builder prompt(String value) {
            this.prompt = value;
            return this;
        }

        /** The negative prompt; null means none (see {@link GenerationRequest#negativePrompt()}). */
        public Builder negativePrompt(String value) {
            this.negativePrompt = value;
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
            this.scheduler = value;
            return this;
        }

        /**
         * The scheduler by any of its names ({@code euler}, {@code EulerDiscreteScheduler},
         * {@code K_EULER}); null for the model's default.
         *
         * @throws IllegalArgumentException naming the field {@code scheduler} for an unknown name
         */
        public Builder scheduler(String name) {
            this.scheduler = name == null ? null : SchedulerType.parse(name);
            return this;
        }

        /** Overrides the scheduler's timestep spacing; null keeps the model's. */
        public Builder timestepSpacing(TimestepSpacing value) {
            this.timestepSpacing = value;
            return this;
        }

        /**
         * The timestep spacing by name ({@code leading}, {@code trailing}, {@code linspace}); null keeps
         * the model's.
         *
         * @throws IllegalArgumentException naming the field {@code timestepSpacing} for another name
         */
        public Builder timestepSpacing(String name) {
            this.timestepSpacing = name == null ? null : TimestepSpacing.parse(name);
            return this;
        }

        public Builder originalSize(ImageSize value) {
            this.originalSize = value;
            return this;
        }

        public Builder targetSize(ImageSize value) {
            this.targetSize = value;
            return this;
        }

        public Builder cropsCoordsTopLeft(CropCoords value) {
            this.cropsCoordsTopLeft = Objects.requireNonNull(value, "cropsCoordsTopLeft");
            return this;
        }

        public Builder negativeOriginalSize(ImageSize value) {
            this.negativeOriginalSize = value;
            return this;
        }

        public Builder negativeTargetSize(ImageSize value) {
            this.negativeTargetSize = value;
            return this;
        }

        public Builder negativeCropsCoordsTopLeft(CropCoords value) {
            this.negativeCropsCoordsTopLeft = Objects.requireNonNull(value, "negativeCropsCoordsTopLeft");
            return this;
        }

        /** Where the noise comes from, given the seed; default torch's CPU generator. */
        public Builder noise(NoiseSource.Factory value) {
            this.noise = Objects.requireNonNull(value, "noise");
            return this;
        }

        /**
         * Builds the request.
         *
         * @throws IllegalArgumentException naming the first invalid field and its value
         */
        public GenerationRequest build() {
            return new GenerationRequest(this);
        }
    }
}
