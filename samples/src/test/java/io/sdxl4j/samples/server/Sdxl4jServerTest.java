// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class Sdxl4jServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    static Path model;
    static Sdxl4jServer server;

    @BeforeAll
    static void start() throws Exception {
        model = BuiltInModel.extract();
        server = Sdxl4jServer.start(() -> SdxlPipeline.load(model, ServerFixture.options()), Sdxl4jServer.Config
                .defaults().withPort(0).withQueue(1).withMaxBodyBytes(64 * 1024).withTimeout(Duration.ofSeconds(60))
                .withMaxMemoryBytes(ServerFixture.BUDGET));
        server.awaitReady(Duration.ofMinutes(1));
    }

    @AfterAll
    static void stop() {
        server.close();
        server.close();
    }

    @Test
    void generatesAPngOfTheAskedSize() throws Exception {
        HttpResponse<byte[]> r = post("/v1/generate", "{\"prompt\":\"a lighthouse\",\"width\":64,\"height\":48,"
                + "\"num_inference_steps\":2,\"seed\":7}");
        assertEquals(200, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals("7", r.headers().firstValue("X-Seed").orElseThrow());
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(r.body()));
        assertEquals(64, image.getWidth());
        assertEquals(48, image.getHeight());
    }

    @Test
    void base64ModeAnswersJsonWithEveryImageAndItsSeed() throws Exception {
        HttpResponse<byte[]> r = post("/v1/generate", "{\"prompt\":\"a fox\",\"width\":64,\"height\":64,"
                + "\"num_steps\":2,\"seed\":-1,\"num_images\":2,\"output_format\":\"jpeg\",\"base64\":true,"
                + "\"guidance\":4.5,\"scheduler\":\"K_EULER_ANCESTRAL\"}");
        assertEquals(200, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8));
        JsonNode body = JSON.readTree(r.body());
        assertEquals("success", body.get("status").asText());
        assertEquals(2, body.get("data").size());
        assertEquals(2, body.get("seeds").size());
        assertTrue(body.get("seeds").get(0).asLong() >= 0, "a random seed is reported back");
        assertTrue(body.get("time").asDouble() > 0);
        for (JsonNode data : body.get("data")) {
            byte[] jpeg = Base64.getDecoder().decode(data.asText());
            assertEquals((byte) 0xFF, jpeg[0]);
            assertEquals(64, ImageIO.read(new ByteArrayInputStream(jpeg)).getWidth());
        }
    }

    static Stream<Arguments> badFields() {
        String png = "\"" + Base64.getEncoder().encodeToString(png(64, 64)) + "\"";
        return Stream.of(
                Arguments.of("{\"prompt\":\"\"}", "prompt"),
                Arguments.of("{\"negative_prompt\":\"x\"}", "prompt"),
                Arguments.of("{\"prompt\":\"x\",\"width\":63}", "width"),
                Arguments.of("{\"prompt\":\"x\",\"height\":\"big\"}", "height"),
                Arguments.of("{\"prompt\":\"x\",\"num_steps\":0}", "num_steps"),
                Arguments.of("{\"prompt\":\"x\",\"num_inference_steps\":2.5}", "num_inference_steps"),
                Arguments.of("{\"prompt\":\"x\",\"guidance\":\"high\"}", "guidance"),
                Arguments.of("{\"prompt\":\"x\",\"guidance_scale\":-1}", "guidance_scale"),
                Arguments.of("{\"prompt\":\"x\",\"seed\":-5}", "seed"),
                Arguments.of("{\"prompt\":\"x\",\"num_images\":0,\"base64\":true}", "num_images"),
                Arguments.of("{\"prompt\":\"x\",\"samples\":2}", "samples"),
                Arguments.of("{\"prompt\":\"x\",\"scheduler\":\"nonesuch\"}", "scheduler"),
                Arguments.of("{\"prompt\":\"x\",\"strength\":1.5,\"image\":" + png + "}", "strength"),
                Arguments.of("{\"prompt\":\"x\",\"image_b64\":\"not base64!\"}", "image_b64"),
                Arguments.of("{\"prompt\":\"x\",\"mask\":" + png + "}", "mask"),
                Arguments.of("{\"prompt\":\"x\",\"refiner\":true}", "refiner"),
                Arguments.of("{\"prompt\":\"x\",\"refiner\":\"sometimes\"}", "refiner"),
                Arguments.of("{\"prompt\":\"x\",\"high_noise_fraction\":2}", "high_noise_fraction"),
                Arguments.of("{\"prompt\":\"x\",\"style\":\"nonesuch\"}", "style"),
                Arguments.of("{\"prompt\":\"x\",\"output_format\":\"webp\"}", "output_format"),
                Arguments.of("{\"prompt\":\"x\",\"base64\":\"yes\"}", "base64"),
                Arguments.of("{\"prompt\":\"x\",\"timeout\":0}", "timeout"),
                Arguments.of("{\"prompt\": \"x\", ", "body"),
                Arguments.of("[1, 2]", "body"),
                Arguments.of("", "body"));
    }

    @ParameterizedTest
    @MethodSource("badFields")
    void aBadFieldIsAnswered400NamingIt(String body, String field) throws Exception {
        HttpResponse<byte[]> r = post("/v1/generate", body);
        JsonNode error = JSON.readTree(r.body());
        assertEquals(400, r.statusCode(), error::toString);
        assertEquals("error", error.get("status").asText());
        assertEquals(field, error.get("field").asText(), error::toString);
        assertFalse(error.get("message").asText().isBlank());
        assertEquals(200, post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}")
                .statusCode(), "still serving");
    }

    @Test
    void anOversizeBodyIs413() throws Exception {
        String big = "{\"prompt\":\"" + "a".repeat(100_000) + "\"}";
        HttpResponse<byte[]> r = post("/v1/generate", big);
        assertEquals(413, r.statusCode());
        assertEquals("body", JSON.readTree(r.body()).get("field").asText());
        assertEquals(200, post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}")
                .statusCode());
    }

    @Test
    void aBurstBeyondTheQueueGets429ForTheExcessAndImagesForTheRest() throws Exception {
        List<CompletableFuture<HttpResponse<byte[]>>> burst = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            burst.add(CLIENT.sendAsync(request("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,"
                    + "\"steps\":25,\"seed\":" + i + "}"), HttpResponse.BodyHandlers.ofByteArray()));
        }
        int ok = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<byte[]>> f : burst) {
            HttpResponse<byte[]> r = f.get();
            if (r.statusCode() == 200) {
                ok++;
                assertEquals(64, ImageIO.read(new ByteArrayInputStream(r.body())).getWidth());
            } else {
                assertEquals(429, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8));
                assertTrue(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow()) >= 1);
                refused++;
            }
        }
        // One generates, one waits in the queue of 1: at least two succeed, and the excess is refused.
        assertTrue(ok >= 2, "succeeded: " + ok);
        assertTrue(refused >= 1, "refused: " + refused);
        assertEquals(6, ok + refused);
    }

    @Test
    void aRequestOverItsTimeLimitIsCancelledWith503AndTheServerServesTheNext() throws Exception {
        HttpResponse<byte[]> r = post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,"
                + "\"steps\":500,\"timeout\":0.3}");
        assertEquals(503, r.statusCode());
        assertTrue(JSON.readTree(r.body()).get("message").asText().contains("time limit"));
        assertEquals(200, post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}")
                .statusCode());
    }

    @Test
    void streamsProgressWithPreviewsThenTheResult() throws Exception {
        HttpResponse<InputStream> r = CLIENT.send(request("/v1/generate/stream", "{\"prompt\":\"x\",\"width\":64,"
                + "\"height\":64,\"steps\":3,\"seed\":1,\"preview\":true}"), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
        List<String[]> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String event = null;
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    events.add(new String[] {event, line.substring(6)});
                }
            }
        }
        assertEquals(4, events.size());
        for (int i = 0; i < 3; i++) {
            assertEquals("progress", events.get(i)[0]);
            JsonNode p = JSON.readTree(events.get(i)[1]);
            assertEquals(i + 1, p.get("step").asInt());
            assertEquals(3, p.get("total").asInt());
            BufferedImage preview = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder()
                    .decode(p.get("preview").asText())));
            // One preview pixel per latent pixel: the tiny model's VAE halves each side (SDXL's divides by 8).
            assertEquals(32, preview.getWidth());
        }
        assertEquals("result", events.get(3)[0]);
        assertEquals("success", JSON.readTree(events.get(3)[1]).get("status").asText());
    }

    @Test
    void streamAcceptsGetWithQueryParameters() throws Exception {
        HttpRequest get = HttpRequest.newBuilder(uri("/v1/generate/stream?prompt=a%20fox&width=64&height=64&steps=2"))
                .GET().build();
        String body = CLIENT.send(get, HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(body.contains("event: progress") && body.contains("event: result"), body);
    }

    @Test
    void aClientThatHangsUpIsCancelledAndTheServerServesTheNext() throws Exception {
        HttpResponse<InputStream> r = CLIENT.send(request("/v1/generate/stream", "{\"prompt\":\"x\",\"width\":64,"
                + "\"height\":64,\"steps\":1000}"), HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            do {
                line = in.readLine();
            } while (line != null && !line.startsWith("event: progress"));
            assertNotNull(line);
        }
        HttpResponse<byte[]> next = post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}");
        assertEquals(200, next.statusCode());
        // 1000 steps take far longer than the answer above: the abandoned generation was cancelled
        // between steps, and counted so.
        String metrics = new String(get("/metrics").body(), StandardCharsets.UTF_8);
        assertTrue(metrics.matches("(?s).*sdxl4j_requests_total\\{api=\"native\",outcome=\"cancelled\"} [1-9].*"),
                metrics);
    }

    @Test
    void healthReadinessAndPrometheusMetrics() throws Exception {
        assertEquals(200, get("/healthz").statusCode());
        assertEquals("ready", JSON.readTree(get("/readyz").body()).get("status").asText());
        post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1}");
        String metrics = new String(get("/metrics").body(), StandardCharsets.UTF_8);
        assertTrue(metrics.contains("# TYPE sdxl4j_requests_total counter"), metrics);
        assertTrue(metrics.matches("(?s).*sdxl4j_requests_total\\{api=\"native\",outcome=\"success\"} [1-9].*"),
                metrics);
        assertTrue(metrics.contains("sdxl4j_generation_seconds_bucket{le=\"+Inf\"}"), metrics);
        assertTrue(metrics.contains("sdxl4j_queue_depth "), metrics);
        assertTrue(metrics.matches("(?s).*sdxl4j_steps_per_second [0-9.e+-]+\n.*"), metrics);
        assertEquals(404, get("/v2/nothing").statusCode());
        assertEquals(405, get("/v1/generate").statusCode());
    }

    @Test
    void shutdownLetsTheRunningGenerationFinishThenRefuses() throws Exception {
        java.util.concurrent.CountDownLatch stepped = new java.util.concurrent.CountDownLatch(1);
        Sdxl4jServer own = Sdxl4jServer.start(() -> SdxlPipeline.load(model, ServerFixture.options()),
                Sdxl4jServer.Config.defaults().withPort(0).withMaxMemoryBytes(ServerFixture.BUDGET)
                        .withListener(new ServerListener() {
                            @Override
                            public void onStep(String requestId, int step, int total) {
                                stepped.countDown();
                            }
                        }));
        own.awaitReady(Duration.ofMinutes(1));
        URI uri = URI.create("http://127.0.0.1:" + own.port() + "/v1/generate");
        CompletableFuture<HttpResponse<byte[]>> running = CLIENT.sendAsync(HttpRequest.newBuilder(uri)
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":15}"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertTrue(stepped.await(60, java.util.concurrent.TimeUnit.SECONDS), "the generation started");
        own.close();
        assertEquals(200, running.get().statusCode(), "in-flight work finishes");
        assertFalse(own.ready());
    }

    // --- helpers ---

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    private static HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static HttpResponse<byte[]> post(String path, String body) throws IOException, InterruptedException {
        return CLIENT.send(request(path, body), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpResponse<byte[]> get(String path) throws IOException, InterruptedException {
        return CLIENT.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] png(int w, int h) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
