// SPDX-License-Identifier: Apache-2.0

/**
 * Pixels (internal): diffusers' image and mask preparation with PIL's arithmetic, PNG and JPEG with
 * the A1111 parameters text, latent previews.
 */
package io.sdxl4j.image;
