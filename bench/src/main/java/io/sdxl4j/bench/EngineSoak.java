// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.ImageInput;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Many generations on one pipeline of an engine, resident memory every 50: whether anything an
 * engine makes per generation (kernel bindings, temporaries, device twins) outlives it. The
 * generations take turns: img2img, inpainting, and DPM++ 2M with guidance rescale, with a listener
 * reading the latents every step. Not JMH: a loop that prints.
 *
 * <pre>java -Xmx256m -cp bench/target/benchmarks.jar io.sdxl4j.bench.EngineSoak [ENGINE] [N]</pre>
 *
 * {@code ENGINE} defaults to {@code javacpp-resident} (the device path on the CPU), {@code N} to 300.
 */
public final class EngineSoak {

    private EngineSoak() {
    }

    public static void main(String[] args) throws IOException {
        String engine = args.length > 0 ? args[0] : "javacpp-resident";
        int total = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        BufferedImage source = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        BufferedImage mask = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                source.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8 | 128);
                mask.setRGB(x, y, x < 32 ? 0 : 0xFFFFFF);
            }
        }
        Path model = BuiltInModel.extract();
        try (SdxlPipeline p = SdxlPipeline.load(model, PipelineOptions.builder().engine(engine).build())) {
            System.out.printf(Locale.ROOT, "%s%n%6s %10s %10s%n", p.engineDescription(), "done", "RSS MiB", "HWM MiB");
            long start = System.nanoTime();
            for (int i = 1; i <= total; i++) {
                GenerationRequest.Builder b = GenerationRequest.builder("a fox").negativePrompt("fog").steps(4).seed(i);
                switch (i % 3) {
                    case 0 -> b.mode(GenerationMode.imageToImage(ImageInput.of(source)).withStrength(0.6));
                    case 1 -> b.mode(GenerationMode.inpaint(ImageInput.of(source), ImageInput.of(mask)).withStrength(0.9));
                    default -> b.scheduler("dpmpp_2m").guidanceRescale(0.5);
                }
                p.generate(b.build(), step -> step.latents());
                if (i % 50 == 0) {
                    System.out.printf(Locale.ROOT, "%6d %10.1f %10.1f%n", i, WholeImageBench.procStatusKib("VmRSS")
                            / 1024.0, WholeImageBench.procStatusKib("VmHWM") / 1024.0);
                }
            }
            System.out.printf(Locale.ROOT, "%d generations in %.1f s%n", total, (System.nanoTime() - start) / 1e9);
        }
    }
}
