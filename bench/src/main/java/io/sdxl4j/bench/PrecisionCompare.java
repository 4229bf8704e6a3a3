// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import io.sdxl4j.SdxlPipeline;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The image error of each reduced {@link Precision} against fp32 (not JMH: one image each): the
 * same request — prompt, negative prompt, seed, steps, guidance 5 — generated in fp32 and in each
 * precision, compared on pixels 0..255 (each channel rounded as the PNG stores it): the largest and
 * the mean absolute difference, and how many channel values differ by more than 8.
 *
 * <pre>java -cp benchmarks.jar io.sdxl4j.bench.PrecisionCompare [--model DIR] [--size 512] [--steps 8]
 *     [--seeds 42,7] [--precisions INT8,INT8_CONV] [--no-fp32] [--cache DIR]</pre>
 *
 * Without {@code --model} the model is {@link BenchModel}'s (the synthetic SDXL of
 * {@code -Dsdxl4j.synthetic}, written once). Prints one line per precision and seed, the load
 * times and the process's peak resident memory; {@code --no-fp32} times the precisions alone,
 * {@code --cache} keeps the conversions in an optimized-model cache folder (needed for a UNet whose
 * int8 graph exceeds protobuf's 2 GB).
 */
public final class PrecisionCompare {

    private PrecisionCompare() {
    }

    private static String peakResident() {
        try {
            return java.nio.file.Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("VmHWM")).findFirst().map(l -> l.substring(6).strip()).orElse("?");
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    public static void main(String[] args) {
        Path model = null;
        int size = 512;
        int steps = 8;
        List<Long> seeds = List.of(42L);
        List<Precision> precisions = List.of(Precision.INT8, Precision.INT8_CONV);
        boolean reference = true;
        Path cache = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--seeds" -> seeds = java.util.Arrays.stream(args[++i].split(",")).map(Long::parseLong).toList();
                case "--precisions" -> precisions = java.util.Arrays.stream(args[++i].split(","))
                        .map(s -> Precision.valueOf(s.strip().toUpperCase(Locale.ROOT))).toList();
                case "--no-fp32" -> reference = false;
                case "--cache" -> cache = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path dir = model != null ? model : BenchModel.folder();
        List<Precision> all = new ArrayList<>();
        if (reference) {
            all.add(Precision.FP32);
        }
        all.addAll(precisions);
        List<List<float[]>> images = new ArrayList<>();
        for (Precision p : all) {
            List<float[]> perSeed = new ArrayList<>();
            long loadStart = System.nanoTime();
            try (SdxlPipeline pipeline = SdxlPipeline.load(dir, PipelineOptions.builder().precision(p)
                    .optimizedModelCache(cache).build())) {
                System.out.printf(Locale.ROOT, "%s: loaded in %.1f s%n", p, (System.nanoTime() - loadStart) / 1e9);
                for (long seed : seeds) {
                    long start = System.nanoTime();
                    int n = steps;
                    long[] stepEnds = new long[n + 1];
                    float[] px = pipeline.generate(GenerationRequest.builder("a photo of an astronaut riding a horse")
                            .negativePrompt("blurry").size(size, size).steps(steps).guidanceScale(5.0).seed(seed)
                            .build(), progress -> stepEnds[Math.min(progress.step(), n)] = System.nanoTime())
                            .image().pixels();
                    long end = System.nanoTime();
                    // Steps after the first: the first carries ONNX Runtime's first-run cost.
                    double perStep = steps > 1 && stepEnds[1] > 0 && stepEnds[steps] > 0
                            ? (stepEnds[steps] - stepEnds[1]) / 1e9 / (steps - 1) : Double.NaN;
                    System.out.printf(Locale.ROOT, "%s seed %d: image in %.2f s, steps 2..%d %.2f s each%n", p, seed,
                            (end - start) / 1e9, steps, perStep);
                    perSeed.add(px);
                }
            }
            images.add(perSeed);
        }
        System.out.println("peak resident memory (VmHWM): " + peakResident());
        if (!reference) {
            return;
        }
        for (int k = 1; k < all.size(); k++) {
            for (int s = 0; s < seeds.size(); s++) {
                float[] a = images.get(0).get(s);
                float[] b = images.get(k).get(s);
                int max = 0;
                long sum = 0;
                long over8 = 0;
                for (int i = 0; i < a.length; i++) {
                    int d = Math.abs(Math.round(a[i] * 255f) - Math.round(b[i] * 255f));
                    max = Math.max(max, d);
                    sum += d;
                    over8 += d > 8 ? 1 : 0;
                }
                System.out.printf(Locale.ROOT, "%s vs FP32, %s, %dx%d, %d steps, seed %d: max %d, mean %.3f,"
                                + " > 8: %.3f %% of values%n", all.get(k), dir.getFileName(), size, size, steps,
                        seeds.get(s), max, (double) sum / a.length, 100.0 * over8 / a.length);
            }
        }
    }
}
