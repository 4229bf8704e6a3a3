// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import io.sdxl4j.samples.server.Sdxl4jServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * Soak check of the HTTP service (not part of the test suite): {@code N} generations (default
 * 1000) through {@code POST /v1/generate} on the built-in tiny model, one client, resident memory
 * (VmRSS) sampled every 100. Native memory that grew with each generation would show as a rising
 * column; requests per second is the service's throughput on the tiny model.
 *
 * <pre>java -Xmx256m -cp bench/target/benchmarks.jar io.sdxl4j.bench.ServerSoak [N]</pre>
 *
 * A small heap bound keeps the JVM's own heap growth out of the resident-memory column.
 */
public final class ServerSoak {

    private ServerSoak() {
    }

    public static void main(String[] args) throws Exception {
        int total = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Path model = BuiltInModel.extract();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (Sdxl4jServer server = Sdxl4jServer.start(() -> SdxlPipeline.load(model, Sdxl4jServer.servingOptions(
                io.sdxl4j.PipelineOptions.builder().engine("javacpp").build())),
                Sdxl4jServer.Config.defaults().withPort(0))) {
            server.awaitReady(Duration.ofMinutes(2));
            URI uri = URI.create("http://127.0.0.1:" + server.port() + "/v1/generate");
            System.out.printf(Locale.ROOT, "%6s %10s %10s %10s %8s%n", "done", "RSS MiB", "HWM MiB", "heap MiB",
                    "req/s");
            long start = System.nanoTime();
            long window = start;
            for (int i = 1; i <= total; i++) {
                String body = "{\"prompt\":\"a lighthouse at dusk, oil painting\",\"negative_prompt\":\"blurry\","
                        + "\"width\":64,\"height\":64,\"num_inference_steps\":4,\"seed\":" + i
                        + (i % 2 == 0 ? ",\"base64\":true" : "") + "}";
                HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(uri)
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
                if (r.statusCode() != 200) {
                    throw new IllegalStateException("request " + i + ": HTTP " + r.statusCode() + " "
                            + new String(r.body()));
                }
                if (i % 100 == 0) {
                    long now = System.nanoTime();
                    Runtime rt = Runtime.getRuntime();
                    System.out.printf(Locale.ROOT, "%6d %10.1f %10.1f %10.1f %8.2f%n", i,
                            WholeImageBench.procStatusKib("VmRSS") / 1024.0, WholeImageBench.procStatusKib("VmHWM")
                                    / 1024.0, (rt.totalMemory() - rt.freeMemory()) / 1048576.0,
                            100 / ((now - window) / 1e9));
                    window = now;
                }
            }
            System.out.printf(Locale.ROOT, "%d generations in %.1f s: %.2f requests/s%n", total,
                    (System.nanoTime() - start) / 1e9, total / ((System.nanoTime() - start) / 1e9));
        }
    }
}
