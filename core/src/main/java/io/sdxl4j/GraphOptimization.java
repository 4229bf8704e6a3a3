// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * How far ONNX Runtime rewrites a model's graph when it opens it (its {@code GraphOptimizationLevel}):
 * constant folding and redundant-node removal ({@link #BASIC}), fusions such as LayerNorm, GELU
 * and attention ({@link #EXTENDED}), and the CPU's blocked memory layouts ({@link #ALL}).
 */
public enum GraphOptimization {
    DISABLED, BASIC, EXTENDED, ALL
}
