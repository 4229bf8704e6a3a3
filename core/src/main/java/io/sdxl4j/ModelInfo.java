// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.file.Path;

/**
 * What a loaded model folder is, as read from its files.
 *
 * @param name             the folder's name (it goes into the images' parameters as the model)
 * @param dir              the folder, absolute
 * @param kind             base or refiner
 * @param defaultImageSize the size of a request without one: the UNet's {@code sample_size} × the VAE's
 *                         scale factor (1024² for SDXL)
 * @param vaeScaleFactor   pixels per latent along each axis (8 for SDXL)
 * @param unetInChannels   the UNet's input channels: 4, or 9 for an inpainting UNet
 * @param defaultScheduler the scheduler of its {@code scheduler_config.json}
 * @param hasVaeEncoder    whether the export has the VAE encoder img2img and inpainting need
 */
public record ModelInfo(String name, Path dir, Kind kind, ImageSize defaultImageSize, int vaeScaleFactor,
                        int unetInChannels, SchedulerType defaultScheduler, boolean hasVaeEncoder) {

    /** What an SDXL export is for. */
    public enum Kind {
        /** The base model: both text encoders, 6 time ids. */
        BASE,
        /** The refiner: {@code text_encoder_2} only, 5 time ids with an aesthetic score. */
        REFINER
    }
}
