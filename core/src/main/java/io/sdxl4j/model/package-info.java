// SPDX-License-Identifier: Apache-2.0

/**
 * Model folders (internal): the layout optimum writes, its JSON files, the components and the
 * signature checks of every ONNX file.
 */
package io.sdxl4j.model;
