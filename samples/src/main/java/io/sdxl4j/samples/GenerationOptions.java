// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.Embedding;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Lora;
import io.sdxl4j.PromptMode;
import io.sdxl4j.Refiner;
import io.sdxl4j.TimestepSpacing;
import java.util.Locale;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every generating command shares. */
final class GenerationOptions {

    @Option(names = "--model", paramLabel = "DIR",
            description = "SDXL ONNX export (optimum layout). Default: the built-in tiny random model.")
    Path model;

    @Option(names = {"-p", "--prompt"}, description = "The prompt (required).")
    String prompt;

    @Option(names = {"-n", "--negative-prompt"}, description = "The negative prompt (default: none).")
    String negativePrompt;

    @Option(names = {"-W", "--width"}, description = "Width in pixels (default: the model's, or the input image's).")
    Integer width;

    @Option(names = {"-H", "--height"}, description = "Height in pixels (default: the model's, or the input image's).")
    Integer height;

    @Option(names = "--steps", defaultValue = "30", description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = {"-g", "--guidance"}, defaultValue = "5.0",
            description = "Guidance scale; <= 1 disables guidance (default: ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--guidance-rescale", defaultValue = "0", description = "Guidance rescale phi in [0, 1].")
    double guidanceRescale;

    @Option(names = {"-s", "--seed"}, description = "Seed (default: random, printed).")
    Long seed;

    @Option(names = "--samples", defaultValue = "1", description = "Images to generate (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "Scheduler (default: the model's); 'help' lists them.")
    String scheduler;

    @Option(names = "--timestep-spacing", paramLabel = "S",
            description = "Override the scheduler's spacing: leading, trailing (Turbo/Lightning), linspace.")
    String timestepSpacing;

    @Option(names = "--clip-skip", defaultValue = "0",
            description = "diffusers' clip_skip: condition on hidden_states[-(N + 2)] (A1111's \"Clip skip\" N+1)"
                    + " (default: ${DEFAULT-VALUE}).")
    int clipSkip;

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]",
            description = "A LoRA/LyCORIS .safetensors file merged with its scale (default 1); repeatable. A bare name"
                    + " is looked up in --lora-dir.")
    java.util.List<String> loras = new java.util.ArrayList<>();

    @Option(names = "--embedding", paramLabel = "FILE[:TOKEN]",
            description = "A textual-inversion embedding (clip_l/clip_g) and the token prompts use for it, or a"
                    + " Replicate embeddings.pti (TOKEN: its trigger word); repeatable.")
    java.util.List<String> embeddings = new java.util.ArrayList<>();

    @Option(names = "--style", paramLabel = "NAME",
            description = "Style preset: cinematic, anime, photographic, digital-art, comic-book, fantasy-art, line-art,"
                    + " 3d-model, pixel-art, analog-film, neon-punk, isometric, low-poly, origami, craft-clay, enhance,"
                    + " base.")
    String style;

    @Option(names = "--prompt-mode", paramLabel = "M", defaultValue = "DIFFUSERS",
            description = "DIFFUSERS (literal, truncated at 77 tokens) or A1111 ((word:1.2) weights, long prompts)"
                    + " (default: ${DEFAULT-VALUE}).")
    PromptMode promptMode;

    @Option(names = "--refiner", paramLabel = "DIR", description = "SDXL refiner export to run after the base.")
    Path refiner;

    @Option(names = "--refiner-mode", paramLabel = "M",
            description = "ensemble (expert_ensemble_refiner) or base_then_refiner (base_image_refiner); default:"
                    + " base_then_refiner when --refiner-strength is given, else ensemble.")
    String refinerMode;

    @Option(names = "--high-noise-fraction", defaultValue = "0.8",
            description = "Ensemble hand-over point in (0, 1) (default: ${DEFAULT-VALUE}).")
    double highNoiseFraction;

    @Option(names = "--refiner-strength", description = "Base-then-refiner img2img strength in (0, 1] (default 0.3).")
    Double refinerStrength;

    @Option(names = "--refiner-steps", description = "Base-then-refiner steps (default: --steps).")
    Integer refinerSteps;

    @Option(names = "--refiner-seed", description = "The refiner's own seed (default: --seed).")
    Long refinerSeed;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Output .png or .jpg; several samples get -0, -1, ... (default: sdxl4j-SEED.png).")
    Path output;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    /** The request builder these options describe (validated when built). */
    GenerationRequest.Builder toBuilder() {
        if (prompt == null) {
            throw new InvalidRequestException("prompt", null, "missing (--prompt)");
        }
        GenerationRequest.Builder b = GenerationRequest.builder(prompt).steps(steps).guidanceScale(guidance)
                .guidanceRescale(guidanceRescale).samples(samples).clipSkip(clipSkip).promptMode(promptMode);
        if (negativePrompt != null) {
            b.negativePrompt(negativePrompt);
        }
        if (scheduler != null) {
            b.scheduler(scheduler);
        }
        if (timestepSpacing != null) {
            b.timestepSpacing(TimestepSpacing.parse(timestepSpacing));
        }
        if (style != null) {
            b.style(style);
        }
        if (width != null) {
            b.width(width);
        }
        if (height != null) {
            b.height(height);
        }
        if (seed != null) {
            b.seed(seed);
        }
        refiner().ifPresent(b::refiner);
        for (String lora : loras) {
            b.lora(lora(lora));
        }
        for (String embedding : embeddings) {
            b.embedding(embedding(embedding));
        }
        return b;
    }

    // FILE[:SCALE]: the scale is what follows the last colon when it is a number. A path is the user's,
    // resolved here against the working directory; a bare name (no separator, no extension) is the
    // LoRA folder's.
    static Lora lora(String value) {
        int colon = value.lastIndexOf(':');
        double scale = 1.0;
        String file = value;
        if (colon > 0) {
            try {
                scale = Double.parseDouble(value.substring(colon + 1));
                file = value.substring(0, colon);
            } catch (NumberFormatException e) {
                // no scale: the colon belongs to the path
            }
        }
        boolean bareName = !file.contains("/") && !file.contains("\\") && !file.contains(".");
        return bareName ? Lora.named(file, scale) : Lora.of(Path.of(file).toAbsolutePath(), scale);
    }

    // FILE[:TOKEN]: a .pti file's token is optional (its trigger word).
    static Embedding embedding(String value) {
        int colon = value.lastIndexOf(':');
        String file = colon > 0 ? value.substring(0, colon) : value;
        String token = colon > 0 ? value.substring(colon + 1) : null;
        Path path = Path.of(file).toAbsolutePath();
        if (token == null || token.isEmpty()) {
            return Embedding.pti(path);
        }
        return file.endsWith(".pti") ? Embedding.pti(path, token) : Embedding.of(path, token);
    }

    // --refiner-mode names the mode; without it, a refiner strength or steps mean the second pass. The
    // refiner's values are checked even without --refiner, so that a bad one is never silently ignored.
    private java.util.Optional<Refiner> refiner() {
        Refiner.Ensemble checkedEnsemble = Refiner.ensemble().withHighNoiseFraction(highNoiseFraction);
        Refiner.SecondPass checked = Refiner.secondPass();
        checked = refinerStrength == null ? checked : checked.withStrength(refinerStrength);
        checked = refinerSteps == null ? checked : checked.withSteps(refinerSteps);
        String mode = refinerMode == null ? null : refinerMode.strip().toLowerCase(Locale.ROOT).replace('-', '_');
        boolean secondPass = mode == null ? refinerStrength != null || refinerSteps != null
                : switch (mode) {
                    case "ensemble", "expert_ensemble_refiner" -> false;
                    case "base_then_refiner", "base_image_refiner", "second_pass" -> true;
                    default -> throw new InvalidRequestException("refinerMode", refinerMode,
                            "is not ensemble or base_then_refiner");
                };
        if (refiner == null) {
            if (refinerMode != null) {
                throw new InvalidRequestException("refinerMode", refinerMode, "needs --refiner DIR");
            }
            return java.util.Optional.empty();
        }
        if (!secondPass) {
            return java.util.Optional.of(refinerSeed == null ? checkedEnsemble : checkedEnsemble.withSeed(refinerSeed));
        }
        return java.util.Optional.of(refinerSeed == null ? checked : checked.withSeed(refinerSeed));
    }
}
