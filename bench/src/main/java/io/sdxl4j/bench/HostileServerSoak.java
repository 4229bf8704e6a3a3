// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import io.sdxl4j.samples.server.Sdxl4jServer;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;

/**
 * Soak of the HTTP service with hostile requests mixed in (not part of the test suite), as
 * {@code serve} runs it (engine javacpp, arena shrinkage, a fixed 3 GiB budget): {@code N} rounds
 * (default 200) through the APIs on the built-in tiny model, one client, each round one of — a
 * 64×64 native generation, an OpenAI generation, an A1111 txt2img, a 512×512 request (413), a
 * 4096×64 request (413), a PNG header declaring 16000×16000 (400), a half-sent body (408 after the
 * 1 s read timeout), a client that hangs up mid-generation (cancelled), and every 25th round a
 * 160×160 generation (admitted, about 1.4 GB of working memory). Resident memory (VmRSS) and
 * requests per second every 25 rounds; at the end, every answer by status: nothing may be lost
 * (a round without its expected answer fails the soak).
 *
 * <pre>java -Xmx512m -cp bench/target/benchmarks.jar io.sdxl4j.bench.HostileServerSoak [N]</pre>
 */
public final class HostileServerSoak {

    private HostileServerSoak() {
    }

    public static void main(String[] args) throws Exception {
        int total = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path model = BuiltInModel.extract();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        PipelineOptions options = Sdxl4jServer.servingOptions(PipelineOptions.builder().engine("javacpp").build());
        Map<String, AtomicInteger> answers = new TreeMap<>();
        try (Sdxl4jServer server = Sdxl4jServer.start(() -> SdxlPipeline.load(model, options),
                Sdxl4jServer.Config.defaults().withPort(0).withMaxMemoryBytes(3L << 30)
                        .withReadTimeout(Duration.ofSeconds(1)))) {
            server.awaitReady(Duration.ofMinutes(2));
            String base = "http://127.0.0.1:" + server.port();
            String huge = Base64.getEncoder().encodeToString(pngDeclaring(16000, 16000));
            System.out.printf(Locale.ROOT, "%6s %10s %10s %10s %8s%n", "round", "RSS MiB", "HWM MiB", "heap MiB",
                    "req/s");
            long start = System.nanoTime();
            long window = start;
            for (int i = 1; i <= total; i++) {
                String kind;
                int expected;
                int status;
                if (i % 25 == 0) {
                    kind = "native 160x160";
                    expected = 200;
                    status = post(client, base + "/v1/generate", "{\"prompt\":\"x\",\"width\":160,\"height\":160,"
                            + "\"steps\":1,\"seed\":" + i + "}");
                } else {
                    switch (i % 8) {
                        case 0 -> {
                            kind = "native 64x64";
                            expected = 200;
                            status = post(client, base + "/v1/generate", "{\"prompt\":\"a lighthouse\",\"width\":64,"
                                    + "\"height\":64,\"steps\":4,\"seed\":" + i + "}");
                        }
                        case 1 -> {
                            kind = "openai 64x64";
                            expected = 200;
                            status = post(client, base + "/v1/images/generations", "{\"prompt\":\"a fox\",\"size\":"
                                    + "\"64x64\",\"response_format\":\"b64_json\"}");
                        }
                        case 2 -> {
                            kind = "a1111 64x64";
                            expected = 200;
                            status = post(client, base + "/sdapi/v1/txt2img", "{\"prompt\":\"a cat\",\"batch_size\":1,"
                                    + "\"width\":64,\"height\":64,\"steps\":4}");
                        }
                        case 3 -> {
                            kind = "512x512";
                            expected = 413;
                            status = post(client, base + "/v1/generate", "{\"prompt\":\"x\",\"width\":512,\"height\":512}");
                        }
                        case 4 -> {
                            kind = "4096x64";
                            expected = 413;
                            status = post(client, base + "/v1/generate", "{\"prompt\":\"x\",\"width\":4096,\"height\":64}");
                        }
                        case 5 -> {
                            kind = "png 16000x16000";
                            expected = 400;
                            status = post(client, base + "/v1/generate", "{\"prompt\":\"x\",\"image\":\"" + huge + "\"}");
                        }
                        case 6 -> {
                            kind = "half-sent body";
                            expected = 408;
                            status = halfSent(server.port());
                        }
                        default -> {
                            kind = "hang-up";
                            expected = -1;
                            status = hangUp(server.port());
                        }
                    }
                }
                String key = kind + " -> " + status;
                answers.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                if (status != expected) {
                    throw new IllegalStateException("round " + i + " (" + kind + "): expected " + expected + ", got "
                            + status);
                }
                if (i % 25 == 0) {
                    long now = System.nanoTime();
                    Runtime rt = Runtime.getRuntime();
                    System.out.printf(Locale.ROOT, "%6d %10.1f %10.1f %10.1f %8.2f%n", i,
                            WholeImageBench.procStatusKib("VmRSS") / 1024.0, WholeImageBench.procStatusKib("VmHWM")
                                    / 1024.0, (rt.totalMemory() - rt.freeMemory()) / 1048576.0,
                            25 / ((now - window) / 1e9));
                    window = now;
                }
            }
            int health = client.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
            System.out.printf(Locale.ROOT, "%d rounds in %.1f s; healthz %d at the end%n", total,
                    (System.nanoTime() - start) / 1e9, health);
            answers.forEach((k, v) -> System.out.printf(Locale.ROOT, "  %-32s %5d%n", k, v.get()));
        }
    }

    private static int post(HttpClient client, String uri, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofMinutes(5))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    private static int halfSent(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write(("POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"pro")
                    .getBytes(StandardCharsets.US_ASCII));
            String line = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            return line.startsWith("HTTP/1.1 ") ? Integer.parseInt(line.substring(9, 12)) : -2;
        }
    }

    // Sends a long generation, reads nothing, hangs up after the first bytes of progress could exist; the
    // server cancels it between steps (-1: no answer is expected).
    private static int hangUp(int port) throws IOException, InterruptedException {
        byte[] body = "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1000}".getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            Thread.sleep(300); // a soak, not a test: let the generation start before hanging up
        }
        return -1;
    }

    private static byte[] pngDeclaring(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream i = new DataOutputStream(ihdr);
        i.writeInt(w);
        i.writeInt(h);
        i.write(new byte[] {8, 2, 0, 0, 0});
        chunk(d, "IHDR", ihdr.toByteArray());
        chunk(d, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(DataOutputStream d, String type, byte[] data) throws IOException {
        d.writeInt(data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }
}
