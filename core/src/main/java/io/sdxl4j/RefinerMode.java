// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Locale;

/** Whether and how the SDXL refiner runs after the base model. */
public enum RefinerMode {
    /** No refiner (hosted APIs' {@code no_refiner}). */
    NONE,
    /**
     * Ensemble of expert denoisers (Podell et al. 2023, §2.5; hosted APIs'
     * {@code expert_ensemble_refiner}): the base denoises the high-noise part of the schedule, up to
     * {@code highNoiseFraction}, and the refiner continues on the same latents.
     */
    ENSEMBLE,
    /**
     * The base runs to the end, then the refiner runs img2img on its latents with
     * {@code refinerStrength} (hosted APIs' {@code base_image_refiner}).
     */
    BASE_THEN_REFINER;

    /**
     * The mode for a name: the constant or the hosted APIs' names.
     *
     * @throws IllegalArgumentException naming the field {@code refiner}
     */
    public static RefinerMode parse(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT).replace('-', '_');
        return switch (n) {
            case "none", "no_refiner", "" -> NONE;
            case "ensemble", "expert_ensemble_refiner", "expert_ensemble" -> ENSEMBLE;
            case "base_then_refiner", "base_image_refiner", "img2img" -> BASE_THEN_REFINER;
            default -> throw new IllegalArgumentException("refiner: '" + name + "' is not one of no_refiner,"
                    + " expert_ensemble_refiner, base_image_refiner");
        };
    }
}
