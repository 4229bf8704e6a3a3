// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import java.util.List;

/**
 * What a generation produced, before the API wraps it.
 *
 * @param request       the request as resolved
 * @param pixels        each image's HWC pixels in [0, 1]
 * @param parameters    the A1111 parameters text of the images
 * @param textNanos     time in the text encoders
 * @param denoiseNanos  time in the denoising loops
 * @param decodeNanos   time in the VAE decoder and pixel conversion
 * @param latentsNanos  time from the start to the final latents
 * @param totalNanos    time of the whole generation
 */
public record Output(ResolvedRequest request, List<float[]> pixels, String parameters, long textNanos,
                     long denoiseNanos, long decodeNanos, long latentsNanos, long totalNanos) {
}
