// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.GenerationRequest;
import picocli.CommandLine.Command;

/** {@code sdxl4j txt2img}: text to image. */
@Command(name = "txt2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate images from a prompt. Without --model, runs the built-in tiny random model.")
final class Txt2ImgCommand extends GenerateCommand {

    @Override
    void addInputs(GenerationRequest.Builder request) {
        // Text only.
    }
}
