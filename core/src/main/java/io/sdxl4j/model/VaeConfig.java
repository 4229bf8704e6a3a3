// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

/**
 * What the pipeline needs from the VAE's {@code config.json}.
 *
 * @param scalingFactor   latents are divided by it before decoding (0.13025 for SDXL)
 * @param scaleFactor     pixels per latent along each axis, {@code 2^(len(block_out_channels)-1)}
 *                        as diffusers derives it: 8 for SDXL, 2 for a two-block test VAE
 * @param latentChannels  channels of the latent space (4)
 * @param latentsMean     per-channel mean to add back before decoding, or null
 * @param latentsStd      per-channel std to scale by before decoding, or null
 */
public record VaeConfig(double scalingFactor, int scaleFactor, int latentChannels, double[] latentsMean,
                        double[] latentsStd) {

    @Override
    public boolean equals(Object o) {
        return o instanceof VaeConfig v && v.scalingFactor == scalingFactor && v.scaleFactor == scaleFactor
                && v.latentChannels == latentChannels && java.util.Arrays.equals(v.latentsMean, latentsMean)
                && java.util.Arrays.equals(v.latentsStd, latentsStd);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(scalingFactor, scaleFactor, latentChannels,
                java.util.Arrays.hashCode(latentsMean), java.util.Arrays.hashCode(latentsStd));
    }
}
