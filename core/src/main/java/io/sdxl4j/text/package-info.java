// SPDX-License-Identifier: Apache-2.0

/**
 * Text conditioning (internal): the CLIP tokenizer, A1111 prompt weighting and chunking, and both
 * text encoders' hidden states and pooled embedding as SDXL uses them.
 */
package io.sdxl4j.text;
