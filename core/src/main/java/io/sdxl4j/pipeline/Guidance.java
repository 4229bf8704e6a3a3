// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

/**
 * Classifier-free guidance (Ho and Salimans 2022) with the optional rescale of Lin et al. 2023,
 * §3.4, eq. 15–16.
 *
 * @param scale   the guidance scale w: {@code ε = ε_u + w·(ε_c - ε_u)}; guidance runs when w &gt; 1
 * @param rescale φ: blend of the guided prediction rescaled to the conditional one's std
 */
public record Guidance(double scale, double rescale) {

    /** True when the UNet runs on [unconditional; conditional] rows. */
    public boolean enabled() {
        return scale > 1;
    }
}
