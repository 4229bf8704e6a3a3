// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.random;

import java.nio.FloatBuffer;

/**
 * Where a generation draws its Gaussian noise, in the order diffusers draws it: the initial
 * latents, VAE sampling, stochastic scheduler steps. The default is {@link TorchGenerator}, which
 * draws what {@code torch.randn} draws on a seeded CPU generator; tests and the conformance runner
 * may feed recorded tensors instead ({@link RecordedNoise}). Not thread-safe: one per generation.
 */
public interface NoiseSource {

    /**
     * Fills the first {@code count} elements of {@code dst} with the next draw of a tensor of
     * {@code count} standard normal values ({@code torch.randn} of any shape with that many
     * elements).
     */
    void randn(FloatBuffer dst, int count);

    /**
     * Consumes a draw of {@code count} values that the caller does not use, keeping later draws
     * aligned with diffusers (its {@code EulerDiscreteScheduler.step} draws noise every step and
     * ignores it when {@code s_churn} is 0).
     */
    void skipRandn(int count);

    /** Makes the noise source of one generation from its seed. */
    @FunctionalInterface
    interface Factory {
        NoiseSource create(long seed);
    }
}
