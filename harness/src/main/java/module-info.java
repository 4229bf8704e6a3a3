// SPDX-License-Identifier: Apache-2.0

/**
 * The diffusers conformance harness: reads a conformance folder ({@code cases.json}, tiny models,
 * reference tensors), runs each case through the public API and compares the images. Not part of
 * the library; the CLI's {@code conformance} command and every engine's tests use it.
 */
module io.sdxl4j.conformance {
    requires io.sdxl4j.core;
    requires com.fasterxml.jackson.databind;

    exports io.sdxl4j.conformance;
}
