// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.adapter.AdapterFile;
import io.sdxl4j.adapter.AdapterMerge;
import io.sdxl4j.bench.synthetic.SyntheticConfig;
import io.sdxl4j.bench.synthetic.SyntheticLora;
import io.sdxl4j.bench.synthetic.SyntheticSdxl;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.pipeline.UNet;
import io.sdxl4j.tensor.HostTensor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What applying one LoRA to the UNet costs (a {@code main}, not JMH: each measurement is one
 * multi-second event of a fresh process). On the synthetic SDXL with a synthetic LoRA
 * ({@link SyntheticLora}: rank 32, float16, every attention projection and feed-forward Linear of
 * the UNet, as a typical SDXL LoRA), it times
 * <ul>
 * <li>{@code lora}: the merge ({@link AdapterFile#load} and {@link AdapterMerge#merge} of the UNet:
 *     the replaced weights, in memory) and the UNet session start with those weights
 *     ({@link UNet#open(ModelFolder, Engine, int, int, PipelineOptions, Map)});</li>
 * <li>{@code plain}: the UNet session start without adapters, the baseline.</li>
 * </ul>
 * Each line gives the time, the process's peak resident memory ({@code VmHWM} of
 * {@code /proc/self/status}: anonymous and file-mapped pages together), the peak of its anonymous
 * part (sampled every 10 ms: mapped model pages are page cache the kernel can drop, anonymous
 * memory is not), and the resident memory after, and the CPU time of the phase. Without a mode
 * both run, each in a fresh JVM (the same JVM options), plain first; {@code prepare} only writes
 * the model and the LoRA.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED [-Dsdxl4j.synthetic.dir=DIR] [-Dsdxl4j.engine=ort]
 *     [-Dsdxl4j.lora.rank=32] [-Dsdxl4j.lora.keys=peft|kohya] -cp benchmarks.jar
 *     io.sdxl4j.bench.LoraApplyBench [full|W,D] [plain|lora|prepare]</pre>
 *
 * The model is written on first use under {@code sdxl4j.synthetic.dir} (default: the temporary
 * folder) in {@code sdxl4j-synthetic/}, the LoRA beside it; at full size that is 13.9 GB.
 */
public final class LoraApplyBench {

    private LoraApplyBench() {
    }

    public static void main(String[] args) throws Exception {
        String scale = args.length > 0 ? args[0] : BenchModel.DEFAULT_SCALE;
        String mode = args.length > 1 ? args[1] : "both";
        SyntheticConfig config = scale.equals("full") ? SyntheticConfig.full() : scaled(scale);
        int rank = Integer.getInteger("sdxl4j.lora.rank", 32);
        SyntheticLora.Keys keys = SyntheticLora.Keys.valueOf(System.getProperty("sdxl4j.lora.keys", "peft")
                .toUpperCase(Locale.ROOT));
        String engineName = System.getProperty("sdxl4j.engine", "ort");

        long t0 = System.nanoTime();
        Path dir = SyntheticSdxl.ensure(config, Path.of(System.getProperty("sdxl4j.synthetic.dir",
                System.getProperty("java.io.tmpdir"))).resolve("sdxl4j-synthetic"));
        Path lora = dir.resolveSibling(dir.getFileName() + "-lora-r" + rank + "-" + keys.name().toLowerCase(Locale.ROOT)
                + ".safetensors");
        if (!Files.isRegularFile(lora)) {
            SyntheticLora.write(config, lora, rank, keys, 0x10AL);
        }
        double prepared = seconds(t0);
        List<SyntheticLora.Target> targets = SyntheticLora.targets(config);
        long loraParameters = targets.stream().mapToLong(t -> (long) rank * (t.in() + t.out())).sum();

        if (mode.equals("both") || mode.equals("prepare")) {
            System.out.println(String.format(Locale.ROOT, "model    %s (%s), UNet %,d bytes; ready in %.1f s",
                    dir, config, Files.size(dir.resolve("unet/model.onnx_data")), prepared));
            System.out.println(String.format(Locale.ROOT,
                    "lora     %s: %d modules, %,d parameters, %,d bytes (%s keys, rank %d, fp16)", lora.getFileName(),
                    targets.size(), loraParameters, Files.size(lora), keys.name().toLowerCase(Locale.ROOT), rank));
            if (mode.equals("prepare")) {
                return;
            }
            for (String m : List.of("plain", "lora")) {
                int rc = child(scale, m);
                if (rc != 0) {
                    System.exit(rc);
                }
            }
            return;
        }
        if (!mode.equals("plain") && !mode.equals("lora")) {
            throw new IllegalArgumentException("mode '" + mode + "': usage [full|W,D] [plain|lora|prepare]");
        }

        Memory memory = new Memory();
        PipelineOptions options = PipelineOptions.builder().engine(engineName).build();
        ModelFolder folder = ModelFolder.open(dir);
        try (Engine engine = Engines.create(options)) {
            memory.reset();
            System.out.println(String.format(Locale.ROOT, "%-8s engine %s, %d cores, load average %s; %s", mode,
                    engineName, Runtime.getRuntime().availableProcessors(), loadAverage(), memory.now()));
            Map<String, HostTensor> weights = Map.of();
            long mergeNanos = 0;
            if (mode.equals("lora")) {
                memory.reset();
                long cpu = cpuNanos();
                long start = System.nanoTime();
                AdapterFile adapter = AdapterFile.load(lora);
                long loaded = System.nanoTime();
                weights = AdapterMerge.merge(folder.onnx(Component.UNET), Component.UNET,
                        List.of(new AdapterMerge.Scaled(adapter, 1f)));
                mergeNanos = System.nanoTime() - start;
                long bytes = 0;
                for (HostTensor t : weights.values()) {
                    bytes += t.elementCount() * t.dataType().bytes();
                }
                System.out.println(String.format(Locale.ROOT,
                        "merge    %8.0f ms  (load %.0f ms; cpu %.1f s) %d modules -> %d weights replaced, %,d bytes; %s",
                        mergeNanos / 1e6, (loaded - start) / 1e6, (cpuNanos() - cpu) / 1e9, adapter.moduleCount(),
                        weights.size(), bytes, memory.phase()));
                adapter.close();
            }
            memory.resetPhase();
            long cpu = cpuNanos();
            long start = System.nanoTime();
            UNet unet = UNet.open(folder, engine, config.crossAttentionDim(), config.pooledDim(), options, weights);
            long sessionNanos = System.nanoTime() - start;
            System.out.println(String.format(Locale.ROOT, "session  %8.0f ms  (cpu %.1f s; %s UNet start%s); %s",
                    sessionNanos / 1e6, (cpuNanos() - cpu) / 1e9, mode,
                    mode.equals("lora") ? " with the merged weights" : "", memory.phase()));
            if (mode.equals("lora")) {
                System.out.println(String.format(Locale.ROOT, "total    %8.0f ms  (merge + session start); %s",
                        (mergeNanos + sessionNanos) / 1e6, memory.total()));
            }
            unet.close();
            System.out.println(String.format(Locale.ROOT, "closed   %s", memory.now()));
        } finally {
            memory.stop();
        }
    }

    private static SyntheticConfig scaled(String scale) {
        String[] wd = scale.split(",");
        if (wd.length != 2) {
            throw new IllegalArgumentException("scale '" + scale + "': full or W,D (e.g. 0.25,0.2)");
        }
        return SyntheticConfig.scaled(Double.parseDouble(wd[0]), Double.parseDouble(wd[1]));
    }

    /** The process's CPU time (all threads, native ones included). */
    private static long cpuNanos() {
        return ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class).getProcessCpuTime();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    /** Runs one mode in a fresh JVM with this JVM's options, its output inline. */
    private static int child(String scale, String mode) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(LoraApplyBench.class.getName());
        command.add(scale);
        command.add(mode);
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    /**
     * The process's resident memory from {@code /proc/self/status}: {@code VmHWM} (reset per phase
     * through {@code /proc/self/clear_refs} where the kernel allows it), {@code VmRSS},
     * {@code RssAnon}, and the peak of {@code RssAnon} sampled every 10 ms.
     */
    private static final class Memory {
        private final Thread sampler;
        private volatile boolean running = true;
        private volatile long phaseAnonPeak;
        private volatile long totalAnonPeak;
        private long totalHwm;
        private boolean hwmReset;

        Memory() {
            sampler = new Thread(() -> {
                while (running) {
                    long anon = field("RssAnon");
                    if (anon > phaseAnonPeak) {
                        phaseAnonPeak = anon;
                    }
                    if (anon > totalAnonPeak) {
                        totalAnonPeak = anon;
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "rss-sampler");
            sampler.setDaemon(true);
            sampler.start();
        }

        /** Starts the measured part: peaks from here. */
        void reset() {
            resetPhase();
            totalHwm = 0;
            totalAnonPeak = field("RssAnon");
        }

        /** Starts a phase: its peaks from here (the whole run's peaks are kept). */
        void resetPhase() {
            totalHwm = Math.max(totalHwm, field("VmHWM"));
            try {
                Files.writeString(Path.of("/proc/self/clear_refs"), "5");
                hwmReset = true;
            } catch (IOException | RuntimeException e) {
                hwmReset = false;
            }
            phaseAnonPeak = field("RssAnon");
        }

        String now() {
            return String.format(Locale.ROOT, "rss %s (anon %s)", mib(field("VmRSS")), mib(field("RssAnon")));
        }

        /** The phase's peaks and the resident memory now. */
        String phase() {
            long hwm = field("VmHWM");
            totalHwm = Math.max(totalHwm, hwm);
            return String.format(Locale.ROOT, "peak %s%s (anon %s), after: %s", mib(hwm),
                    hwmReset ? "" : " [process]", mib(Math.max(phaseAnonPeak, field("RssAnon"))), now());
        }

        /** The peaks since {@link #reset}. */
        String total() {
            long hwm = Math.max(totalHwm, field("VmHWM"));
            return String.format(Locale.ROOT, "peak %s (anon %s), after: %s", mib(hwm),
                    mib(Math.max(totalAnonPeak, field("RssAnon"))), now());
        }

        void stop() {
            running = false;
            sampler.interrupt();
        }

        private static String mib(long kib) {
            return String.format(Locale.ROOT, "%,d MiB", kib / 1024);
        }

        /** A {@code kB} field of {@code /proc/self/status}, in KiB; 0 when absent. */
        static long field(String name) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith(name + ":")) {
                        return Long.parseLong(line.substring(name.length() + 1).trim().split("\\s+")[0]);
                    }
                }
            } catch (IOException | RuntimeException e) {
                return 0;
            }
            return 0;
        }
    }
}
