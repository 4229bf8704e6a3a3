// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests meant to take the server down, each answered clearly, the server alive afterwards. The
 * timeouts below are safety nets; what is asserted is the answer (and, for the large request, that
 * resident memory comes back), never how fast it came.
 */
class Sdxl4jServerHostileTest {

    static Sdxl4jServer server;
    static Http http;
    static final Map<String, CountDownLatch> stepped = new ConcurrentHashMap<>();
    static final Map<String, String> finished = new ConcurrentHashMap<>();
    static final Map<String, CountDownLatch> done = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        server = Sdxl4jServer.start(() -> SdxlPipeline.load(BuiltInModel.extract(), ServerFixture.options()),
                Sdxl4jServer.Config.defaults().withPort(0).withQueue(8).withMaxMemoryBytes(ServerFixture.BUDGET)
                        .withReadTimeout(Duration.ofSeconds(1)).withListener(new ServerListener() {
                            @Override
                            public void onStep(String requestId, int step, int total) {
                                stepped.computeIfAbsent(requestId, k -> new CountDownLatch(1)).countDown();
                            }

                            @Override
                            public void onFinish(String requestId, String outcome) {
                                finished.put(requestId, outcome);
                                done.computeIfAbsent(requestId, k -> new CountDownLatch(1)).countDown();
                            }
                        }));
        server.awaitReady(Duration.ofMinutes(2));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static void alive() throws Exception {
        assertEquals(200, http.get("/healthz").statusCode(), "still serving");
    }

    @Test
    void a512SquareAndA4096By64OnTheTinyModelAre413NamingTheSize() throws Exception {
        for (String size : List.of("\"width\":512,\"height\":512", "\"width\":4096,\"height\":64")) {
            HttpResponse<byte[]> r = http.post("/v1/generate", "{\"prompt\":\"x\"," + size + ",\"steps\":1}");
            JsonNode error = Http.json(r);
            assertEquals(413, r.statusCode(), error::toString);
            assertEquals("width", error.get("field").asText());
            assertTrue(error.get("message").asText().contains("GiB of working memory"), error::toString);
            assertTrue(error.get("message").asText().contains("largest square"), error::toString);
        }
        // A duplicated key cannot smuggle the size past the checks.
        HttpResponse<byte[]> dup = http.post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"width\":4096}");
        assertEquals(400, dup.statusCode());
        assertTrue(Http.json(dup).get("message").asText().contains("Duplicate"), () -> Http.text(dup));
        HttpResponse<byte[]> trailing = http.post("/v1/generate", "{\"prompt\":\"x\"} {\"prompt\":\"y\"}");
        assertEquals(400, trailing.statusCode());
        assertEquals("body", Http.json(trailing).get("field").asText());
        alive();
    }

    /** A small PNG whose header declares {@code w × h} pixels. */
    static byte[] pngDeclaring(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream i = new DataOutputStream(ihdr);
        i.writeInt(w);
        i.writeInt(h);
        i.write(new byte[] {8, 2, 0, 0, 0});
        chunk(d, "IHDR", ihdr.toByteArray());
        Deflater deflater = new Deflater();
        deflater.setInput(new byte[64 * 1024]);
        deflater.finish();
        byte[] buffer = new byte[1 << 16];
        int n = deflater.deflate(buffer);
        chunk(d, "IDAT", java.util.Arrays.copyOf(buffer, n));
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

    @Test
    void pngsDeclaring16000SquareAreRefusedFromTheirHeaderFourAtOnce() throws Exception {
        String b64 = Base64.getEncoder().encodeToString(pngDeclaring(16000, 16000));
        List<CompletableFuture<HttpResponse<byte[]>>> four = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            String body = k % 2 == 0 ? "{\"prompt\":\"x\",\"image\":\"" + b64 + "\"}"
                    : "{\"prompt\":\"x\",\"init_images\":[\"" + b64 + "\"],\"width\":64,\"height\":64}";
            String path = k % 2 == 0 ? "/v1/generate" : "/sdapi/v1/img2img";
            four.add(Http.CLIENT.sendAsync(java.net.http.HttpRequest.newBuilder(http.uri(path))
                    .timeout(Duration.ofMinutes(1)).POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofByteArray()));
        }
        for (int k = 0; k < 4; k++) {
            HttpResponse<byte[]> r = four.get(k).get(1, TimeUnit.MINUTES);
            String text = Http.text(r);
            assertTrue(r.statusCode() == 400 || r.statusCode() == 422, text);
            assertTrue(text.contains("16000x16000"), text);
            assertTrue(text.contains(k % 2 == 0 ? "\"field\":\"image\"" : "\"init_images\""), text);
        }
        alive();
    }

    @Test
    void aHalfSentBodyIsAnswered408AndHalfSentHeadersAreClosed() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(30_000); // safety net: the server's read timeout is 1 s
            s.getOutputStream().write(("POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000\r\n\r\n{\"prompt\":").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 408", answer);
        }
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write("POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Le".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            byte[] rest = in.readAllBytes(); // ends when the server closes the connection
            assertTrue(rest.length == 0 || new String(rest, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 4"));
        }
        alive();
    }

    @Test
    void aClientThatHangsUpOnANonStreamingGenerationCancelsIt() throws Exception {
        String id = "hangup-1";
        CountDownLatch started = stepped.computeIfAbsent(id, k -> new CountDownLatch(1));
        CountDownLatch ended = done.computeIfAbsent(id, k -> new CountDownLatch(1));
        byte[] body = "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1000}".getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/generate HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + id + "\r\nContent-Type:"
                    + " application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            assertTrue(started.await(1, TimeUnit.MINUTES), "the generation started");
        } // the client hangs up here, long before 1000 steps
        assertTrue(ended.await(1, TimeUnit.MINUTES), "the generation ended");
        assertEquals("cancelled", finished.get(id));
        assertEquals(200, http.post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}")
                .statusCode());
    }

    @Test
    void routesAreExact() throws Exception {
        assertEquals(404, http.post("/v1/generatex", "{\"prompt\":\"x\"}").statusCode());
        assertEquals(404, http.get("/readyzzz").statusCode());
        assertEquals(404, http.post("/v1/generate/", "{\"prompt\":\"x\"}").statusCode());
        JsonNode error = Http.json(http.get("/nothing/here"));
        assertFalse(error.get("request_id").asText().isBlank());
    }

    @Test
    void afterALargeRequestResidentMemoryIsBackNearItsBaseline() throws Exception {
        // Warm up the shapes of a small request, then measure the baseline.
        assertEquals(200, http.post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}")
                .statusCode());
        System.gc();
        long baseline = Http.residentBytes();
        HttpResponse<byte[]> large = http.post("/v1/generate", "{\"prompt\":\"x\",\"width\":192,\"height\":192,"
                + "\"steps\":1}");
        assertEquals(200, large.statusCode(), () -> Http.text(large));
        String metrics = Http.text(http.get("/metrics"));
        var m = java.util.regex.Pattern.compile("sdxl4j_admitted_memory_estimate_bytes ([0-9.eE+]+)").matcher(metrics);
        assertTrue(m.find(), metrics);
        long estimate = (long) Double.parseDouble(m.group(1));
        assertTrue(estimate > 1L << 30, "192x192 on the tiny model is estimated at over a GiB: " + estimate);
        System.gc();
        long after = Http.residentBytes();
        // Without the arena's shrinkage the large request's ~2 GB stay resident; with it, the growth is a small
        // part of the request's estimated working memory.
        assertTrue(after - baseline < estimate / 2, "resident " + MemoryBudget.format(baseline) + " before, "
                + MemoryBudget.format(after) + " after a request estimated at " + MemoryBudget.format(estimate));
        alive();
    }
}
