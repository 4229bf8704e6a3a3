// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.HandlerType;
import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.OutputFormat;
import io.sdxl4j.StepProgress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * sdxl4j's own API: {@code POST /v1/generate} with the hosted APIs' vocabulary under any of its
 * aliases ({@link RequestParser}), answering the image bytes or, with {@code "base64": true},
 * {@code {"status":"success","data":[…],"seeds":[…],"time":…}}; and {@code /v1/generate/stream}
 * ({@code POST} with the same JSON, or {@code GET} with query parameters for
 * {@code EventSource}), which sends {@code progress} events after each step (with a latent
 * preview when asked) and then {@code result} or {@code error}. Errors:
 * {@code {"status":"error","field":…,"message":…,"request_id":…}}.
 */
final class NativeApi implements ClientApi {

    private final Sdxl4jServer server;

    NativeApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public Auth auth() {
        return Auth.BEARER;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/v1/generate", this::generate);
        routes.post("/v1/generate/stream", ex -> stream(ex, ex.json(400)));
        routes.get("/v1/generate/stream", ex -> stream(ex, queryAsJson(ex.ctx.queryString())));
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        ObjectNode body = Json.object().put("status", "error");
        if (error.field == null) {
            body.putNull("field");
        } else {
            body.put("field", error.field);
        }
        return body.put("message", error.getMessage()).put("request_id", requestId);
    }

    private RequestParser.Parsed parse(JsonNode body) {
        try {
            return RequestParser.parse(body, server.config().timeout().toMillis());
        } catch (RequestParser.BadRequest e) {
            throw ApiError.bad(e.field, e.getMessage());
        }
    }

    private void generate(Exchange ex) {
        RequestParser.Parsed parsed = parse(ex.json(400));
        if (!parsed.base64() && parsed.request().samples() > 1) {
            throw ApiError.bad(parsed.client("samples"), parsed.request().samples()
                    + " images need \"base64\": true (the binary answer holds one image)");
        }
        var queue = server.queue();
        var job = queue.submit(name(), ex.requestId, new GenerationQueue.Submission(parsed.request(), parsed,
                parsed.timeoutMillis()));
        GenerationResult result = queue.await(job, ex::clientGone);
        if (parsed.base64()) {
            ex.json(200, successBody(result, parsed.format()));
        } else {
            GeneratedImage image = result.image();
            ex.ctx.header("X-Seed", Long.toString(image.seed()));
            ex.ctx.header("X-Generation-Time", seconds(result));
            ex.bytes(200, parsed.format().mimeType(), encode(image, parsed.format()));
        }
    }

    private void stream(Exchange ex, JsonNode body) throws IOException {
        if (body.isObject()) {
            ((ObjectNode) body).put("base64", true);
        }
        RequestParser.Parsed parsed = parse(body);
        BlockingQueue<String> events = new ArrayBlockingQueue<>(64);
        java.util.function.Consumer<StepProgress> onStep = p -> {
            ObjectNode e = Json.object().put("step", p.step()).put("total", p.totalSteps()).put("timestep", p.timestep());
            if (parsed.preview()) {
                e.put("preview", Base64.getEncoder().encodeToString(png(p.preview(0))));
            }
            // A slow reader loses progress events, never the generation's time.
            events.offer("event: progress\ndata: " + e + "\n\n");
        };
        var queue = server.queue();
        var job = queue.submit(name(), ex.requestId, new GenerationQueue.Submission(parsed.request(),
                java.util.function.UnaryOperator.identity(), parsed, parsed.timeoutMillis(), onStep));
        ex.ctx.attribute(Sdxl4jServer.ANSWERED, Boolean.TRUE);
        var res = ex.ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream; charset=utf-8");
        res.setHeader("Cache-Control", "no-cache");
        try {
            OutputStream out = res.getOutputStream();
            res.flushBuffer();
            while (!job.result.isDone()) {
                String event = events.poll(100, TimeUnit.MILLISECONDS);
                if (event != null) {
                    send(out, event);
                }
            }
            for (String event; (event = events.poll()) != null; ) {
                send(out, event);
            }
            String last;
            try {
                GenerationResult result = queue.await(job, () -> false);
                last = "event: result\ndata: " + Json.OUT.writeValueAsString(successBody(result, parsed.format()));
            } catch (ApiError e) {
                last = "event: error\ndata: " + Json.OUT.writeValueAsString(errorBody(e, ex.requestId));
            }
            send(out, last + "\n\n");
        } catch (IOException e) {
            // The client went away: stop its generation between steps; the server carries on.
            job.cancel();
            if (!job.result.isDone()) {
                queue.outcome(job, Metrics.Outcome.CANCELLED);
            }
            throw new GenerationQueue.ClientGone();
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private static void send(OutputStream out, String event) throws IOException {
        out.write(event.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Query parameters as a JSON object: numbers and booleans typed, everything else a string. */
    static JsonNode queryAsJson(String rawQuery) {
        ObjectNode node = Json.object();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return node;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (node.has(key)) {
                throw ApiError.bad(key, "given twice");
            }
            if (value.equals("true") || value.equals("false")) {
                node.put(key, Boolean.parseBoolean(value));
            } else if (value.matches("-?\\d{1,18}")) {
                node.put(key, Long.parseLong(value));
            } else if (value.matches("-?\\d*\\.\\d+([eE][-+]?\\d+)?")) {
                node.put(key, Double.parseDouble(value));
            } else {
                node.put(key, value);
            }
        }
        return node;
    }

    static ObjectNode successBody(GenerationResult result, OutputFormat format) {
        ObjectNode body = Json.object().put("status", "success");
        ArrayNode data = body.putArray("data");
        ArrayNode seeds = body.putArray("seeds");
        for (GeneratedImage image : result.images()) {
            data.add(Base64.getEncoder().encodeToString(encode(image, format)));
            seeds.add(image.seed());
        }
        body.put("time", Double.parseDouble(seconds(result)));
        return body;
    }

    static byte[] encode(GeneratedImage image, OutputFormat format) {
        return image.encode(format);
    }

    static String seconds(GenerationResult result) {
        return String.format(Locale.ROOT, "%.3f", result.total().toNanos() / 1e9);
    }

    static byte[] png(java.awt.image.BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            javax.imageio.ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
