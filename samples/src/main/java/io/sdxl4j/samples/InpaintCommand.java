// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sdxl4j inpaint}: repaint the white region of a mask. */
@Command(name = "inpaint", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Repaint the masked region of an image (white repaints, black keeps).")
final class InpaintCommand extends GenerateCommand {

    @Option(names = {"-i", "--image"}, required = true, paramLabel = "FILE", description = "The source image.")
    Path image;

    @Option(names = {"-m", "--mask"}, required = true, paramLabel = "FILE",
            description = "The mask (resized to the output): white repaints, black keeps.")
    Path mask;

    @Option(names = "--strength", defaultValue = "0.9999",
            description = "How much to change the masked region, in (0, 1] (default: ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--mask-blur", defaultValue = "0",
            description = "PIL Gaussian blur radius for the mask, 0 to 64 (default: 0).")
    int maskBlur;

    @Override
    void addInputs(GenerationRequest.Builder request) {
        request.mode(GenerationMode.inpaint(ImageInput.read(image), ImageInput.read(mask)).withStrength(strength)
                .withMaskBlur(maskBlur));
    }
}
