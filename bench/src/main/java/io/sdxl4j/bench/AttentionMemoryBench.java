// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.sdxl4j.bench.synthetic.SyntheticConfig;
import io.sdxl4j.bench.synthetic.SyntheticSdxl;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.model.AttentionFusion;
import io.sdxl4j.model.GraphRewrite;
import io.sdxl4j.model.ModelGraphs;
import io.sdxl4j.model.UnetUpsamplers;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Peak resident memory and time of one UNet call, fused attention
 * ({@link io.sdxl4j.PipelineOptions#fusedAttention()}) against the export's unfused graph, at
 * large image sizes. Each configuration runs in a JVM of its own, so that its peak (the kernel's
 * {@code VmHWM}) is its own: the UNet session opened (the upsamplers rewrite, plus the attention
 * fusion when fused), one warm-up call and {@code --calls} timed calls (the median printed) at
 * batch 1 on ONNX Runtime's CPU. Not JMH:
 * the figure is a process's high-water mark, which one fork per configuration gives directly.
 *
 * <pre>java -cp ... io.sdxl4j.bench.AttentionMemoryBench --model DIR [--synthetic W,D] [--sizes 1024,2048]
 *     [--calls 3]</pre>
 *
 * {@code --synthetic W,D} writes the synthetic SDXL scaled by widths × W, depths × D into DIR first
 * (when DIR has no UNet). Prints one line per configuration and a Markdown table.
 */
public final class AttentionMemoryBench {

    private AttentionMemoryBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = GpuCheck.parse(args);
        Path model = Path.of(a.get("model"));
        if (a.containsKey("child")) {
            child(model, Integer.parseInt(a.get("size")), Boolean.parseBoolean(a.get("fused")),
                    Integer.parseInt(a.getOrDefault("calls", "3")));
            return;
        }
        if (a.containsKey("synthetic") && !Files.isRegularFile(model.resolve("unet/model.onnx"))) {
            String[] s = a.get("synthetic").split(",");
            SyntheticSdxl.write(SyntheticConfig.scaled(Double.parseDouble(s[0]), Double.parseDouble(s[1])), model);
        }
        List<String> rows = new ArrayList<>();
        for (String size : a.getOrDefault("sizes", "1024,2048").split(",")) {
            for (boolean fused : new boolean[] {false, true}) {
                List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-cp",
                        System.getProperty("java.class.path"), AttentionMemoryBench.class.getName(), "--child", "true",
                        "--model", model.toString(), "--size", size, "--fused", Boolean.toString(fused), "--calls",
                        a.getOrDefault("calls", "3")));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                int rc = p.waitFor();
                String result = out.lines().filter(l -> l.startsWith("RESULT")).findFirst()
                        .orElse("RESULT size=" + size + " fused=" + fused + " failed rc=" + rc + ": "
                                + out.lines().reduce((x, y) -> y).orElse(""));
                System.out.println(result);
                rows.add(result);
            }
        }
        System.out.println();
        System.out.println("| size | graph | attention nodes | call (s, median) | peak RSS after open (MiB) | peak RSS of the call (MiB) |");
        System.out.println("|---|---|---|---|---|---|");
        for (String r : rows) {
            Map<String, String> f = fields(r);
            System.out.printf(Locale.ROOT, "| %s² | %s | %s | %s | %s | %s |%n", f.get("size"),
                    "true".equals(f.get("fused")) ? "fused" : "unfused", f.getOrDefault("mha", "?"),
                    f.getOrDefault("call_s", "failed"), f.getOrDefault("open_hwm_mib", "?"),
                    f.getOrDefault("hwm_mib", "?"));
        }
    }

    private static Map<String, String> fields(String line) {
        Map<String, String> f = new HashMap<>();
        for (String part : line.split(" ")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                f.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        return f;
    }

    private static void child(Path model, int size, boolean fused, int calls) throws IOException, OrtException {
        Path file = model.resolve("unet/model.onnx");
        List<GraphRewrite> rewrites = fused ? List.of(UnetUpsamplers.REWRITE, AttentionFusion.REWRITE)
                : List.of(UnetUpsamplers.REWRITE);
        ModelSource source = ModelGraphs.source(file, "unet/model.onnx", rewrites);
        int mha = AttentionFusion.fusedBlocks(
                io.sdxl4j.onnx.Onnx.ModelProto.parseFrom(source.graph().orElseThrow()));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.addConfigEntry(ModelSource.EXTERNAL_DATA_FOLDER_KEY, source.externalDataFolder().toString());
            try (OrtSession session = env.createSession(source.graph().orElseThrow(), o)) {
                long openHwm = hwm();
                Map<String, OnnxTensor> inputs = inputs(env, session, size / 8);
                double[] seconds = new double[calls];
                try {
                    try (OrtSession.Result warm = session.run(inputs)) {
                        // The first call sizes the arena and plans memory: not timed, but in the peak.
                    }
                    for (int i = 0; i < calls; i++) {
                        long t0 = System.nanoTime();
                        try (OrtSession.Result r = session.run(inputs)) {
                            seconds[i] = (System.nanoTime() - t0) / 1e9;
                        }
                    }
                } finally {
                    inputs.values().forEach(OnnxTensor::close);
                }
                java.util.Arrays.sort(seconds);
                System.out.printf(Locale.ROOT, "RESULT size=%d fused=%s mha=%d call_s=%.2f calls_s=%s open_hwm_mib=%d hwm_mib=%d%n",
                        size, fused, mha, seconds[seconds.length / 2], java.util.Arrays.toString(seconds)
                                .replace(" ", ""), openHwm / 1024, hwm() / 1024);
            }
        }
    }

    // Batch 1: the sample at the latent size, 77 context tokens, zeros elsewhere.
    private static Map<String, OnnxTensor> inputs(OrtEnvironment env, OrtSession session, int latent)
            throws OrtException {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        java.util.Random random = new java.util.Random(1);
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            long[] shape = ((TensorInfo) e.getValue().getInfo()).getShape();
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < 0) {
                    shape[i] = i == 0 ? 1 : e.getKey().equals("sample") ? latent : 77;
                }
            }
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            float[] v = new float[(int) n];
            for (int i = 0; i < v.length; i++) {
                v[i] = e.getKey().equals("timestep") ? 500f : (float) random.nextGaussian();
            }
            inputs.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape));
        }
        return inputs;
    }

    // The process's peak resident set (VmHWM), in KiB.
    private static long hwm() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
