// SPDX-License-Identifier: Apache-2.0
/**
 * Adapters for SDXL exports: LoRA / LyCORIS files merged into the ONNX weights, and
 * textual-inversion embeddings added to the tokenizers and token embeddings. Internal to sdxl4j:
 * the pipeline calls it, applications do not.
 *
 * <p>What the pipeline calls:
 * <ul>
 * <li>{@link io.sdxl4j.adapter.AdapterFile#load} reads a {@code .safetensors} adapter (kohya /
 *     AUTOMATIC1111, diffusers / PEFT, LyCORIS LoCon / LoHa / LoKr / full);</li>
 * <li>{@link io.sdxl4j.adapter.AdapterMerge#merge} (one component file) or
 *     {@link io.sdxl4j.adapter.AdapterMerge#mergeAll} (a model) gives the merged weights as
 *     replacement initializers for {@link io.sdxl4j.engine.Engine#open(java.nio.file.Path, String,
 *     java.util.Map)};</li>
 * <li>{@link io.sdxl4j.adapter.TextualInversion#load} and
 *     {@link io.sdxl4j.adapter.TextualInversion#apply} give the tokenizers with the embeddings'
 *     tokens, the prompt conversion and the grown token embeddings.</li>
 * </ul>
 * Key names follow diffusers' conversions ({@code lora_conversion_utils.py}), the deltas
 * LyCORIS' definitions (which stable-diffusion.cpp's {@code lora.hpp} follows); the ONNX side
 * maps module paths in the node names of TorchScript (optimum) exports. Model files are never
 * rewritten.
 */
package io.sdxl4j.adapter;
