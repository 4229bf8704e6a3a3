// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A LoRA (or LyCORIS: LoCon, LoHa, LoKr) adapter file and the scale it is merged with: every
 * module it targets gets {@code W + scale · ΔW} in the export's weights, as PEFT fuses adapters
 * for diffusers. Files in the formats users have: kohya / AUTOMATIC1111 ({@code lora_unet_…},
 * {@code lora_te1_…}, {@code lora_te2_…}, with SDXL's SGM block names or diffusers' names),
 * diffusers / PEFT ({@code lora_A} / {@code lora_B}), LyCORIS.
 *
 * @param file  the {@code .safetensors} file; a relative path (or a bare name, {@code .safetensors}
 *              added) is looked up in {@link PipelineOptions#loraDirectory()}
 * @param scale the multiplier, in [−10, 10] (A1111's {@code <lora:name:scale>}, the hosted APIs'
 *              {@code lora_scale}); 1 applies the adapter as trained
 */
public record Lora(Path file, double scale) {

    /** The largest scale's magnitude. */
    public static final double MAX_SCALE = 10;

    /**
     * @throws InvalidRequestException for the field {@code loras} when the scale is not finite or
     *                                 beyond ±10
     */
    public Lora {
        Objects.requireNonNull(file, "file");
        if (!(Math.abs(scale) <= MAX_SCALE)) {
            throw new InvalidRequestException("loras", file + ":" + scale, "has a scale outside [-10, 10]");
        }
    }

    /** A file with a scale. */
    public static Lora of(Path file, double scale) {
        return new Lora(file, scale);
    }

    /** An adapter of the LoRA folder by name ({@code "pixel-art"} is {@code pixel-art.safetensors} there). */
    public static Lora named(String name, double scale) {
        if (name == null || name.isBlank()) {
            throw new InvalidRequestException("loras", name, "is not a LoRA name");
        }
        return new Lora(Path.of(name.strip()), scale);
    }
}
