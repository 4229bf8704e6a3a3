// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import io.sdxl4j.model.Component;

/**
 * One module of an adapter file: the component it changes, the key stem it came from (for
 * messages: {@code lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q}), the module it
 * targets and its ΔW.
 *
 * @param target the module path in diffusers' / transformers' names: dotted
 *               ({@code down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q}), or, for
 *               kohya keys, the stem without its {@code lora_unet_} / {@code lora_te1_} prefix
 *               ({@code input_blocks_4_1_transformer_blocks_0_attn1_to_q}): SGM block names and
 *               {@code _} for every {@code .}, which only the model can resolve
 *               ({@link ModuleResolver})
 * @param underscored true for kohya's underscore form of {@code target}
 */
record AdapterModule(Component component, String stem, String target, boolean underscored, Delta delta) {
}
