// SPDX-License-Identifier: Apache-2.0

/**
 * The schedulers (internal): one diffusers scheduler per class behind {@link
 * io.sdxl4j.scheduler.Scheduler}, built from the model's {@code scheduler_config.json}; the noise
 * schedule math (betas, sigmas, Karras) exists once, in {@link io.sdxl4j.scheduler.NoiseSchedules}.
 */
package io.sdxl4j.scheduler;
