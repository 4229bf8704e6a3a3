// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Model load times beside one whole image: not JMH, because every measurement needs a fresh JVM
 * (a load is a process's first act: ONNX Runtime's environment, the JIT and the sessions all
 * start cold), and JMH forks measure steady states. Each line below is one child JVM:
 *
 * <ul>
 *   <li>{@code cold}: {@code SdxlPipeline.load} with an empty optimized-model cache folder (graph
 *       optimization at open, the optimized graphs written), then one image;</li>
 *   <li>{@code warm}: the same with the cache the cold run filled (optimized graphs opened as they
 *       are), then one image;</li>
 *   <li>{@code nocache}: the library's default, no cache folder (optimized at every open, nothing
 *       written);</li>
 *   <li>{@code serial} / {@code serial-warm} / {@code serial-nocache}: the four components opened one
 *       after another through the engine, with an empty cache, the filled cache and no cache (what a
 *       load costs without parallel opens), each component's time;</li>
 *   <li>{@code phases}: each component opened through ONNX Runtime directly with optimization off
 *       and pre-packing off (parsing the graph and reading the weights), optimization off (adds
 *       pre-packing: the MatMul/Conv weights copied into the kernels' layouts), optimization on
 *       (adds graph optimization): where the time goes.</li>
 * </ul>
 *
 * <p>The OS page cache is not dropped (that needs root and would disturb other work on the
 * machine). Instead, before each run, every file of the model and of the cache folder is read once
 * ({@code --preload no} skips that), so that every run finds its files in the page cache and cold
 * and warm differ only in what sdxl4j's cache saves; before each run the program reports how much
 * of the weight files was resident (from {@code fincore}, where the system has it).
 *
 * <pre>java -cp benchmarks.jar io.sdxl4j.bench.LoadTimes --model DIR [--engine ort] [--runs 2]
 *     [--size 512] [--steps 8[,N...]] [--guidance 5] [--preload yes|no]
 *     [--modes cold,warm,nocache,serial,serial-warm,serial-nocache,phases]</pre>
 */
public final class LoadTimes {

    private static final List<String> COMPONENTS = List.of("text_encoder", "text_encoder_2", "unet", "vae_decoder");

    private LoadTimes() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(args);
            return;
        }
        Map<String, String> o = new LinkedHashMap<>(Map.of("--engine", "ort", "--runs", "2", "--size", "512",
                "--steps", "8", "--guidance", "5", "--preload", "yes",
                "--modes", "cold,warm,nocache,serial,serial-warm,serial-nocache,phases"));
        for (int i = 0; i < args.length; i += 2) {
            if (!o.containsKey(args[i]) && !args[i].equals("--model")) {
                throw new IllegalArgumentException("unknown option " + args[i] + "; usage: --model DIR [--engine ort]"
                        + " [--runs 2] [--size 512] [--steps 8] [--guidance 5] [--modes cold,warm,...]");
            }
            o.put(args[i], args[i + 1]);
        }
        Path model = Path.of(o.get("--model")).toAbsolutePath();
        System.out.println("# LoadTimes " + model + ", engine " + o.get("--engine") + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, " + o.get("--size") + "², "
                + o.get("--steps") + " steps, guidance " + o.get("--guidance"));
        System.out.println("# page cache before the runs: " + pageCache(model));
        int runs = Integer.parseInt(o.get("--runs"));
        Path cache = Files.createTempDirectory("sdxl4j-load-cache-");
        try {
            for (int r = 0; r < runs; r++) {
                for (String mode : o.get("--modes").split(",")) {
                    if (mode.equals("cold") || mode.equals("serial")) {
                        clear(cache); // cold: an empty cache folder, every time
                    }
                    fork(mode, model, cache, o);
                }
            }
            System.out.println("# cache folder after the runs: " + size(cache) / (1 << 20) + " MiB");
        } finally {
            clear(cache);
            Files.deleteIfExists(cache);
        }
    }

    private static void fork(String mode, Path model, Path cache, Map<String, String> o)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx4g", "-cp", System.getProperty("java.class.path"),
                LoadTimes.class.getName(), "--child", mode, model.toString(), cache.toString(), o.get("--engine"),
                o.get("--size"), o.get("--steps"), o.get("--guidance")));
        // The previous run's writes (a cold run writes the whole cache) are flushed first, so that
        // their write-back does not compete with the next run's reads.
        new ProcessBuilder("sync").inheritIO().start().waitFor();
        // What the run reads is put in the page cache first (this machine's page cache loses files
        // between runs): every run reads from memory, cold and warm alike.
        if (!o.get("--preload").equals("no")) {
            preload(model);
            preload(cache);
        }
        System.out.println("# " + mode + ": model " + pageCache(model) + "; cache folder " + pageCache(cache));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("| ")) {
                    System.out.println(line);
                } else if (!line.contains("WARNING")) {
                    System.err.println("  [" + mode + "] " + line);
                }
            }
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException(mode + ": child exited with " + p.exitValue());
        }
    }

    private static void child(String[] a) throws Exception {
        String mode = a[1];
        Path model = Path.of(a[2]);
        Path cache = Path.of(a[3]);
        String engine = a[4];
        int size = Integer.parseInt(a[5]);
        int[] steps = java.util.Arrays.stream(a[6].split(",")).mapToInt(Integer::parseInt).toArray();
        double guidance = Double.parseDouble(a[7]);
        PipelineOptions.Builder options = PipelineOptions.builder().engine(engine);
        switch (mode) {
            case "cold", "warm", "nocache" -> {
                if (!mode.equals("nocache")) {
                    options.optimizedModelCache(cache);
                }
                long t0 = System.nanoTime();
                try (SdxlPipeline p = SdxlPipeline.load(model, options.build())) {
                    long t1 = System.nanoTime();
                    System.out.printf(Locale.ROOT, "| %s | load %.2f s | VmHWM after load %d MiB |%n", mode,
                            (t1 - t0) / 1e9, hwm() >> 10);
                    // Each step count is one more image from the same pipeline (the first pays the
                    // workspace and the arena's first allocations).
                    for (int n : steps) {
                        long t2 = System.nanoTime();
                        GenerationResult r = p.generate(GenerationRequest.builder("a lighthouse on a cliff at dusk")
                                .size(size, size).steps(n).guidanceScale(guidance).seed(1).build());
                        long t3 = System.nanoTime();
                        System.out.printf(Locale.ROOT, "| %s | image %.2f s | text %.2f s | %d steps %.2f s | decode"
                                        + " %.2f s | VmHWM %d MiB |%n", mode, (t3 - t2) / 1e9, sec(r.textEncoding()), n,
                                sec(r.denoising()), sec(r.decoding()), hwm() >> 10);
                    }
                }
            }
            case "serial", "serial-warm", "serial-nocache" -> {
                if (!mode.equals("serial-nocache")) {
                    options.optimizedModelCache(cache);
                }
                StringBuilder b = new StringBuilder("| " + mode + " |");
                long total = 0;
                try (Engine e = Engines.create(options.build())) {
                    for (String c : COMPONENTS) {
                        long t0 = System.nanoTime();
                        e.open(model.resolve(c).resolve("model.onnx"), c + "/model.onnx").close();
                        long t = System.nanoTime() - t0;
                        total += t;
                        b.append(String.format(Locale.ROOT, " %s %.2f s |", c, t / 1e9));
                    }
                }
                System.out.println(b.append(String.format(Locale.ROOT, " sum %.2f s |", total / 1e9)));
            }
            case "phases" -> phases(model);
            default -> throw new IllegalArgumentException("mode " + mode);
        }
    }

    /** Each component opened three ways through ONNX Runtime Java, one session at a time. */
    private static void phases(Path model) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "sdxl4j");
        for (String c : COMPONENTS) {
            String file = model.resolve(c).resolve("model.onnx").toString();
            double read = open(env, file, OrtSession.SessionOptions.OptLevel.NO_OPT, true);
            double packed = open(env, file, OrtSession.SessionOptions.OptLevel.NO_OPT, false);
            double optimized = open(env, file, OrtSession.SessionOptions.OptLevel.ALL_OPT, false);
            System.out.printf(Locale.ROOT, "| phases | %s | read %.2f s | + pre-pack %.2f s | + optimize %.2f s |%n",
                    c, read, packed - read, optimized - packed);
        }
    }

    private static double open(OrtEnvironment env, String file, OrtSession.SessionOptions.OptLevel level,
                               boolean noPrepacking) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(level);
            if (noPrepacking) {
                so.addConfigEntry("session.disable_prepacking", "1");
            }
            long t0 = System.nanoTime();
            env.createSession(file, so).close();
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    private static double sec(java.time.Duration d) {
        return d.toNanos() / 1e9;
    }

    /** The process's peak resident memory ({@code VmHWM}), KiB. */
    private static long hwm() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /** What {@code fincore} says of the model's weight files: resident of total. */
    private static String pageCache(Path model) {
        try (Stream<Path> files = Files.walk(model)) {
            List<String> command = new ArrayList<>(List.of("fincore", "--bytes", "--noheadings", "--output", "RES,SIZE"));
            List<String> data = files.filter(f -> f.toString().endsWith(".onnx_data")).map(Path::toString).toList();
            if (data.isEmpty()) {
                return "empty";
            }
            command.addAll(data);
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            long res = 0;
            long total = 0;
            for (String line : new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 2) {
                    res += Long.parseLong(f[0]);
                    total += Long.parseLong(f[1]);
                }
            }
            p.waitFor();
            return String.format(Locale.ROOT, "%.2f of %.2f GiB of the weight files resident (fincore)",
                    res / 1073741824.0, total / 1073741824.0);
        } catch (IOException | RuntimeException e) {
            return "unknown (fincore: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** Reads every file of the model once, so that the runs find it in the page cache. */
    private static void preload(Path model) throws IOException {
        byte[] buffer = new byte[1 << 20];
        try (Stream<Path> files = Files.walk(model)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                try (var in = Files.newInputStream(f)) {
                    while (in.read(buffer) >= 0) {
                        // only the reading matters
                    }
                }
            }
        }
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    private static void clear(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }
}
