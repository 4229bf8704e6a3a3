// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sdxl4j img2img}: an image and a prompt to an image. */
@Command(name = "img2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Transform an image with a prompt (size: the image's unless --width/--height).")
final class Img2ImgCommand extends GenerateCommand {

    @Option(names = {"-i", "--image"}, required = true, paramLabel = "FILE", description = "The source image.")
    Path image;

    @Option(names = "--strength", defaultValue = "0.8",
            description = "How much to change, in (0, 1] (default: ${DEFAULT-VALUE}).")
    double strength;

    @Override
    void addInputs(GenerationRequest.Builder request) {
        request.mode(GenerationMode.imageToImage(ImageInput.read(image)).withStrength(strength));
    }
}
