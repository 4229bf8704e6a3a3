// SPDX-License-Identifier: Apache-2.0

/**
 * The orchestration (internal): a request resolved once against the loaded models, then text
 * conditioning, the mode's starting latents, the denoising loop every mode drives, the refiner and
 * the VAE, in diffusers' order and conventions.
 */
package io.sdxl4j.pipeline;
