// SPDX-License-Identifier: Apache-2.0

/**
 * The engine SPI (internal; exported only to the native module): an {@link io.sdxl4j.engine.Engine}
 * opens ONNX files as {@link io.sdxl4j.engine.EngineSession}s, binds fixed tensors to them and
 * supplies the latent loop's arithmetic; engines are found by name through
 * {@link io.sdxl4j.engine.EngineProvider} and {@code ServiceLoader}. The {@code ort} engine on ONNX
 * Runtime Java lives here, package-private.
 */
package io.sdxl4j.engine;
