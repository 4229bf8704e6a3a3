// SPDX-License-Identifier: Apache-2.0

/**
 * Noise (internal): torch's CPU generator, bit for bit (mt19937 and its {@code randn}), behind an
 * injectable {@link io.sdxl4j.random.NoiseSource}.
 */
package io.sdxl4j.random;
