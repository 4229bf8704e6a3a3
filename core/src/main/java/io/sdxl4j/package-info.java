// SPDX-License-Identifier: Apache-2.0

/**
 * The sdxl4j API: {@link io.sdxl4j.SdxlPipeline} loads an SDXL ONNX export and generates images from
 * {@link io.sdxl4j.GenerationRequest}s — text to image, img2img, inpainting, the refiner — as Hugging
 * Face diffusers does for the same model, prompt and seed. Requests, options and results are
 * immutable values; every invalid input throws {@link io.sdxl4j.InvalidRequestException} naming its
 * field; other failures are {@link io.sdxl4j.SdxlException}s naming the component and file.
 */
package io.sdxl4j;
