// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.StepProgress;
import io.sdxl4j.bench.synthetic.SyntheticConfig;
import io.sdxl4j.bench.synthetic.SyntheticSdxl;
import io.sdxl4j.javacpp.JavaCppEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One configuration of the GPU check ({@code bench/gpu-check.sh run}): load the pipeline, one
 * warm-up image, timed whole images, one image with the latents read after its first and last
 * step (the device's time per step: the loop queues its work without waiting, so only a read
 * shows when it is done), and the device memory in use at the end. Prints a human account and
 * one {@code RESULT} line of {@code key=value} fields, appended to {@code --result}.
 *
 * <pre>java -cp ... io.sdxl4j.bench.GpuCheck --model DIR --provider cuda|cuda-graph|cpu [--engine javacpp]
 *     [--size 1024] [--steps 30] [--images 2] [--fused true|false] [--label NAME] [--result FILE]
 *     [--conv-search EXHAUSTIVE|HEURISTIC|DEFAULT] [--cache DIR]
 * java -cp ... io.sdxl4j.bench.GpuCheck --write-model DIR --synthetic full|W,D [--fp16]
 * java -cp ... io.sdxl4j.bench.GpuCheck --probe-cuda --model DIR
 * java -cp ... io.sdxl4j.bench.GpuCheck --capabilities</pre>
 *
 * <p>{@code --fused} sets {@code PipelineOptions.Builder.fusedAttention(boolean)} (the attention
 * blocks rewritten into {@code com.microsoft.MultiHeadAttention}, flash attention on CUDA).
 * {@code --capabilities} says {@code fusedAttention=yes}; the script reads it so that a build
 * without the option skips the fused rows instead of timing the unfused graph twice.
 */
public final class GpuCheck {

    private GpuCheck() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> a = parse(args);
        if (a.containsKey("write-model")) {
            writeModel(Path.of(a.get("write-model")), a.getOrDefault("synthetic", "full"),
                    Boolean.parseBoolean(a.getOrDefault("fp16", "false")));
            return;
        }
        if (a.containsKey("capabilities")) {
            System.out.println("fusedAttention=yes");
            return;
        }
        Path model = Path.of(require(a, "model"));
        if (a.containsKey("probe-cuda")) {
            System.exit(probeCuda(model));
        }
        Map<String, Object> result = run(a, model);
        StringBuilder line = new StringBuilder("RESULT");
        result.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
        System.out.println(line);
        if (a.containsKey("result")) {
            Files.writeString(Path.of(a.get("result")), line + "\n", StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            boolean flag = key.equals("probe-cuda") || key.equals("fp16") || key.equals("capabilities");
            if (!flag && i + 1 == args.length) {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
            a.put(key, flag ? "true" : args[++i]);
        }
        return a;
    }

    private static String require(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }

    /** Writes the synthetic SDXL ({@code full}, or {@code W,D} for widths × W, depths × D) into {@code dir}. */
    static void writeModel(Path dir, String scale, boolean fp16) throws IOException {
        SyntheticConfig config = scale.equals("full") ? SyntheticConfig.full() : SyntheticConfig.scaled(
                Double.parseDouble(scale.split(",")[0]), Double.parseDouble(scale.split(",")[1]));
        config = config.withFp16(fp16);
        Path marker = dir.resolve("COMPLETE");
        if (Files.isRegularFile(marker) && Files.readString(marker).equals(config.toString())) {
            System.out.println("model: " + dir + " already written (" + config + ")");
            return;
        }
        long t0 = System.nanoTime();
        SyntheticSdxl.Summary s = SyntheticSdxl.write(config, dir);
        Files.writeString(marker, config.toString());
        System.out.printf(Locale.ROOT, "model: wrote %s in %.1f s%n%s", dir, (System.nanoTime() - t0) / 1e9,
                SyntheticSdxl.describe(s));
    }

    static PipelineOptions options(Map<String, String> a, Map<String, Object> result) {
        String provider = a.getOrDefault("provider", "cuda");
        ExecutionProvider.CudnnConvAlgoSearch search = ExecutionProvider.CudnnConvAlgoSearch.valueOf(
                a.getOrDefault("conv-search", "EXHAUSTIVE"));
        PipelineOptions.Builder b = PipelineOptions.builder().engine(a.getOrDefault("engine", JavaCppEngine.NAME))
                .provider(switch (provider) {
                    case "cpu" -> ExecutionProvider.cpu();
                    case "cuda" -> ExecutionProvider.cuda().withConvAlgoSearch(search);
                    case "cuda-graph" -> ExecutionProvider.cuda().withConvAlgoSearch(search).withCudaGraph(true);
                    default -> throw new IllegalArgumentException("--provider " + provider
                            + ": not cpu, cuda or cuda-graph");
                });
        if (a.containsKey("cache")) {
            b.optimizedModelCache(Path.of(a.get("cache")));
        }
        result.put("fused", fused(b, a.get("fused")));
        return b.build();
    }

    /** Sets fused attention ({@code PipelineOptions.Builder.fusedAttention}): {@code on}, {@code off} or {@code default}. */
    static String fused(PipelineOptions.Builder b, String value) {
        if (value == null) {
            return "default";
        }
        boolean on = Boolean.parseBoolean(value);
        b.fusedAttention(on);
        return on ? "on" : "off";
    }

    static Map<String, Object> run(Map<String, String> a, Path model) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("label", a.getOrDefault("label", a.getOrDefault("provider", "cuda")));
        int size = Integer.parseInt(a.getOrDefault("size", "1024"));
        int steps = Integer.parseInt(a.getOrDefault("steps", "30"));
        int images = Integer.parseInt(a.getOrDefault("images", "2"));
        PipelineOptions options = options(a, result);
        result.put("provider", a.getOrDefault("provider", "cuda"));
        result.put("size", size);
        result.put("steps", steps);
        System.out.println("ONNX Runtime " + JavaCppEngine.runtimeVersion() + ", providers "
                + JavaCppEngine.availableProviders());
        long t0 = System.nanoTime();
        try (SdxlPipeline pipeline = SdxlPipeline.load(model, options)) {
            double load = seconds(t0);
            result.put("load_s", fmt(load));
            System.out.println("engine: " + pipeline.engineDescription());
            System.out.printf(Locale.ROOT, "load: %.2f s%n", load);
            GenerationRequest request = GenerationRequest.builder("a photo of an astronaut riding a horse on the moon")
                    .negativePrompt("blurry").size(size, size).steps(steps).guidanceScale(5.0).seed(42).build();
            long t1 = System.nanoTime();
            pipeline.generate(request);
            result.put("first_image_s", fmt(seconds(t1)));
            System.out.printf(Locale.ROOT, "first image (warm-up: algorithm search, graph capture): %.2f s%n",
                    seconds(t1));
            List<Double> times = new ArrayList<>();
            GenerationResult last = null;
            for (int i = 0; i < images; i++) {
                long t = System.nanoTime();
                last = pipeline.generate(request);
                times.add(seconds(t));
            }
            double median = median(times);
            result.put("image_s", fmt(median));
            result.put("images", times.stream().map(GpuCheck::fmt).toList().toString().replace(" ", ""));
            if (last != null) {
                // Host-side times: the text encoders end in a read, so theirs is the device's; the
                // loop's is the time to queue it, and the decode's includes the loop's remaining work.
                result.put("text_s", fmt(last.textEncoding().toNanos() / 1e9));
                result.put("denoise_host_s", fmt(last.denoising().toNanos() / 1e9));
                result.put("decode_s", fmt(last.decoding().toNanos() / 1e9));
            }
            System.out.printf(Locale.ROOT, "whole image (%d steps, %d², guidance 5): median %.3f s of %s%n",
                    steps, size, median, times);
            double stepMs = stepMillis(pipeline, request, steps);
            result.put("step_ms", fmt(stepMs));
            System.out.printf(Locale.ROOT, "denoising step, device time (UNet batch 2 + guidance + scheduler): %.2f ms%n",
                    stepMs);
        }
        if (!a.getOrDefault("provider", "cuda").equals("cpu")) {
            result.put("device_used_mib", deviceUsedMib());
        }
        return result;
    }

    /**
     * The device's time per step: an image whose latents are read (a wait for the device) after its
     * first and its last step; the time between the two reads over the steps between.
     */
    static double stepMillis(SdxlPipeline pipeline, GenerationRequest request, int steps) {
        if (steps < 2) {
            return Double.NaN;
        }
        long[] marks = new long[2];
        pipeline.generate(request, (StepProgress p) -> {
            if (p.step() == 1 || p.step() == p.totalSteps()) {
                p.latents();
                marks[p.step() == 1 ? 0 : 1] = System.nanoTime();
            }
        });
        return (marks[1] - marks[0]) / 1e6 / (steps - 1);
    }

    /** Memory in use on the current CUDA device (all processes), in MiB, or -1 where it cannot be read. */
    static long deviceUsedMib() {
        try (var free = new org.bytedeco.javacpp.SizeTPointer(1); var total = new org.bytedeco.javacpp.SizeTPointer(1)) {
            int status = org.bytedeco.cuda.global.cudart.cudaMemGetInfo(free, total);
            return status == 0 ? (total.get() - free.get()) >> 20 : -1;
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    /**
     * Opens the model on CUDA and reports how it fails (for the dry run on a machine without a
     * GPU): 0 when it fails where a GPU is needed, 1 when it unexpectedly loads, 2 when it fails
     * before reaching CUDA.
     */
    static int probeCuda(Path model) {
        System.out.println("providers: " + JavaCppEngine.availableProviders());
        if (!JavaCppEngine.availableProviders().contains("CUDAExecutionProvider")) {
            System.out.println("CUDA probe: this ONNX Runtime has no CUDA provider: the GPU natives are not on the class path");
            return 2;
        }
        PipelineOptions options = PipelineOptions.builder().engine(JavaCppEngine.NAME)
                .provider(ExecutionProvider.cuda()).build();
        try (SdxlPipeline p = SdxlPipeline.load(model, options)) {
            System.out.println("CUDA probe: loaded on " + p.engineDescription() + " (a GPU is here)");
            return 1;
        } catch (RuntimeException e) {
            System.out.println("CUDA probe: stops where a GPU is needed: " + e.getMessage());
            return 0;
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
