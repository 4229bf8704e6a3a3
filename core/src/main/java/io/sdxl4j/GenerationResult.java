// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.time.Duration;
import java.util.List;

/**
 * The images of one request, with the values the pipeline resolved (seed, size, scheduler) and
 * where the time went.
 *
 * @param images        the images, in batch order
 * @param seed          the seed used (drawn at random when the request had none)
 * @param width         image width in pixels
 * @param height        image height in pixels
 * @param scheduler     the scheduler used
 * @param steps         denoising steps run
 * @param textEncoding  time in the text encoders
 * @param denoising     time in the denoising loop
 * @param decoding      time in the VAE decoder and pixel conversion
 * @param total         time of the whole call
 */
public record GenerationResult(List<GeneratedImage> images, long seed, int width, int height,
                               SchedulerType scheduler, int steps, Duration textEncoding, Duration denoising,
                               Duration decoding, Duration total) {

    public GenerationResult {
        images = List.copyOf(images);
    }

    /** The first image. */
    public GeneratedImage image() {
        return images.get(0);
    }
}
