// SPDX-License-Identifier: Apache-2.0

/**
 * Tensors of the engines (internal; exported only to the native module): off-heap host tensors in
 * native order, element types, fp16 conversion, the element-wise operations of the loop, and the
 * NumPy {@code .npy} format of the reference data.
 */
package io.sdxl4j.tensor;
