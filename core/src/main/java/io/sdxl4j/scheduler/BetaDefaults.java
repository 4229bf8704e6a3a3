// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/**
 * A scheduler class's defaults for the training betas, used when a config lacks the key (diffusers'
 * {@code from_config} falls back to the class's {@code __init__} defaults, which differ by class).
 */
record BetaDefaults(double betaStart, double betaEnd, String betaSchedule) {

    /** DDPM's: linear from 1e-4 to 0.02 (most classes). */
    static final BetaDefaults DDPM = new BetaDefaults(0.0001, 0.02, "linear");
    /** Latent diffusion's range, linear (Heun, KDPM2). */
    static final BetaDefaults LATENT_LINEAR = new BetaDefaults(0.00085, 0.012, "linear");
    /** Latent diffusion's range, scaled linear (LCM). */
    static final BetaDefaults LATENT_SCALED = new BetaDefaults(0.00085, 0.012, "scaled_linear");
}
