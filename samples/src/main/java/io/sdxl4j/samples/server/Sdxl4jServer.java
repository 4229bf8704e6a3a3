// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationCancelledException;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.StepProgress;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * An HTTP service over one {@link SdxlPipeline} that speaks the hosted SDXL APIs' JSON
 * ({@code POST /v1/generate}, {@link RequestParser}), with health, readiness, Prometheus metrics
 * and progress over server-sent events. One pipeline generates one request at a time (the
 * pipeline serializes its calls); requests wait in a bounded queue, and the excess is refused
 * with 429 at once rather than piling up. Every failure is answered and leaves the server serving:
 * oversize bodies (413), malformed JSON or a bad field (400, the field named), a full queue (429
 * with {@code Retry-After}), a generation over its time limit (cancelled between steps, 503).
 * {@link #close()} stops taking work, lets queued and running generations finish within the
 * grace period, cancels what remains, then closes the pipeline.
 */
public final class Sdxl4jServer implements AutoCloseable {

    /**
     * The server's settings.
     *
     * @param host          address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
     * @param port          port; 0 picks a free one (default 8080)
     * @param queue         requests that may wait while one generates (default 8)
     * @param maxBodyBytes  largest request body (default 32 MiB: room for a base64 image and mask)
     * @param timeout       longest a request may take, queueing included (default 5 minutes)
     * @param shutdownGrace how long {@link #close()} lets accepted work finish (default 30 s)
     */
    public record Config(String host, int port, int queue, long maxBodyBytes, Duration timeout,
                         Duration shutdownGrace) {

        public Config {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " is outside [0, 65535]");
            }
            if (queue < 0) {
                throw new IllegalArgumentException("queue: " + queue + " is negative");
            }
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " is not positive");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: " + timeout + " is not positive");
            }
        }

        public static Config defaults() {
            return new Config("127.0.0.1", 8080, 8, 32L << 20, Duration.ofMinutes(5), Duration.ofSeconds(30));
        }

        public Config withPort(int p) {
            return new Config(host, p, queue, maxBodyBytes, timeout, shutdownGrace);
        }

        public Config withQueue(int q) {
            return new Config(host, port, q, maxBodyBytes, timeout, shutdownGrace);
        }

        public Config withHost(String h) {
            return new Config(h, port, queue, maxBodyBytes, timeout, shutdownGrace);
        }

        public Config withMaxBodyBytes(long bytes) {
            return new Config(host, port, queue, bytes, timeout, shutdownGrace);
        }

        public Config withTimeout(Duration t) {
            return new Config(host, port, queue, maxBodyBytes, t, shutdownGrace);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json";
    /** Most bytes of an oversize body read and discarded before answering 413. */
    private static final long DRAIN_LIMIT = 64L << 20;

    private final Config config;
    private final HttpServer http;
    private final ExecutorService handlers;
    private final ThreadPoolExecutor generator;
    private final Metrics metrics;
    private final Set<Job> jobs = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CompletableFuture<SdxlPipeline> pipeline = new CompletableFuture<>();
    private volatile boolean shuttingDown;
    /** Past the grace period: running generations are cancelled. */
    private volatile boolean closing;
    private volatile double averageSeconds = 10;
    private boolean closed;

    private Sdxl4jServer(Config config, HttpServer http) {
        this.config = config;
        this.http = http;
        this.handlers = Executors.newVirtualThreadPerTaskExecutor();
        this.generator = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(Math.max(1, config.queue())), r -> {
                    Thread t = new Thread(r, "sdxl4j-generator");
                    t.setDaemon(true);
                    return t;
                });
        this.metrics = new Metrics(() -> generator.getQueue().size(), inFlight::get);
    }

    /**
     * Starts serving at once ({@code /healthz} answers while the models load) and loads the
     * pipeline on another thread; {@code /readyz} turns 200 when it is loaded.
     */
    public static Sdxl4jServer start(Supplier<SdxlPipeline> loader, Config config) throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 64);
        Sdxl4jServer server = new Sdxl4jServer(config, http);
        http.setExecutor(server.handlers);
        http.createContext("/healthz", server::healthz);
        http.createContext("/readyz", server::readyz);
        http.createContext("/metrics", server::metrics);
        http.createContext("/v1/generate/stream", server::stream);
        http.createContext("/v1/generate", server::generate);
        http.createContext("/", ex -> server.error(ex, 404, null, "no such endpoint: " + ex.getRequestURI().getPath()));
        http.start();
        Thread.ofVirtual().name("sdxl4j-loader").start(() -> {
            try {
                SdxlPipeline loaded = loader.get();
                if (!server.pipeline.complete(loaded)) {
                    loaded.close(); // the server closed while the models loaded
                }
            } catch (RuntimeException | Error e) {
                server.pipeline.completeExceptionally(e);
            }
        });
        return server;
    }

    /** The port the server listens on. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** True when the pipeline is loaded and the server is not shutting down. */
    public boolean ready() {
        return pipeline.isDone() && !pipeline.isCompletedExceptionally() && !shuttingDown;
    }

    /** Waits for the pipeline to load. */
    public void awaitReady(Duration timeout) throws InterruptedException, TimeoutException, ExecutionException {
        pipeline.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    // --- endpoints ---

    private void healthz(HttpExchange ex) throws IOException {
        respondJson(ex, 200, JSON.createObjectNode().put("status", "ok"));
    }

    private void readyz(HttpExchange ex) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        if (ready()) {
            respondJson(ex, 200, body.put("status", "ready"));
        } else if (pipeline.isCompletedExceptionally()) {
            respondJson(ex, 503, body.put("status", "failed").put("message", loadError()));
        } else {
            respondJson(ex, 503, body.put("status", shuttingDown ? "shutting_down" : "loading"));
        }
    }

    private void metrics(HttpExchange ex) throws IOException {
        byte[] text = metrics.render().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        respond(ex, 200, text);
    }

    private void generate(HttpExchange ex) throws IOException {
        if (!ex.getRequestMethod().equals("POST")) {
            ex.getResponseHeaders().set("Allow", "POST");
            error(ex, 405, null, "use POST");
            return;
        }
        Job job = accept(ex, readBody(ex));
        if (job == null) {
            return;
        }
        try {
            GenerationResult result = await(job);
            metrics.request(Metrics.Outcome.SUCCESS);
            if (job.parsed.base64()) {
                respondJson(ex, 200, successBody(result, job.parsed.format()));
            } else {
                GeneratedImage image = result.image();
                ex.getResponseHeaders().set("Content-Type", job.parsed.format() == OutputFormat.PNG
                        ? "image/png" : "image/jpeg");
                ex.getResponseHeaders().set("X-Seed", Long.toString(image.seed()));
                ex.getResponseHeaders().set("X-Generation-Time", seconds(result));
                respond(ex, 200, encode(image, job.parsed.format()));
            }
        } catch (Failure f) {
            fail(ex, f);
        }
    }

    /**
     * Progress over server-sent events: {@code POST} with the same JSON as {@code /v1/generate},
     * or {@code GET} with the fields as query parameters (for {@code EventSource}). Events:
     * {@code progress} after each step ({@code step}, {@code total}, {@code timestep}, and with
     * {@code preview: true} a PNG of the latents as {@code preview}), then {@code result} (the
     * base64 answer) or {@code error}.
     */
    private void stream(HttpExchange ex) throws IOException {
        JsonNode body;
        switch (ex.getRequestMethod()) {
            case "POST" -> body = readBody(ex);
            case "GET" -> body = queryAsJson(ex.getRequestURI().getRawQuery());
            default -> {
                ex.getResponseHeaders().set("Allow", "GET, POST");
                error(ex, 405, null, "use GET or POST");
                return;
            }
        }
        if (body != null && body.isObject()) {
            ((ObjectNode) body).put("base64", true);
        }
        BlockingQueue<String> events = new ArrayBlockingQueue<>(64);
        Job job = accept(ex, body, events);
        if (job == null) {
            return;
        }
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        try (OutputStream out = ex.getResponseBody()) {
            while (!job.result.isDone()) {
                String event = events.poll(100, TimeUnit.MILLISECONDS);
                if (event != null) {
                    send(out, event);
                }
            }
            for (String event; (event = events.poll()) != null; ) {
                send(out, event);
            }
            try {
                GenerationResult result = await(job);
                metrics.request(Metrics.Outcome.SUCCESS);
                send(out, "event: result\ndata: " + JSON.writeValueAsString(successBody(result,
                        job.parsed.format())) + "\n\n");
            } catch (Failure f) {
                metrics.request(f.outcome);
                send(out, "event: error\ndata: " + JSON.writeValueAsString(errorBody(f.field, f.getMessage()))
                        + "\n\n");
            }
        } catch (IOException e) {
            // The client went away: stop its generation between steps; the server carries on.
            job.cancel();
            metrics.request(Metrics.Outcome.CANCELLED);
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
        }
    }

    private static void send(OutputStream out, String event) throws IOException {
        out.write(event.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    // --- the queue ---

    /** A generation waiting for or holding the pipeline. */
    private final class Job implements Runnable {
        final RequestParser.Parsed parsed;
        final long deadline;
        final BlockingQueue<String> events;
        final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        volatile boolean cancelled;

        Job(RequestParser.Parsed parsed, BlockingQueue<String> events) {
            this.parsed = parsed;
            this.deadline = System.nanoTime() + parsed.timeoutMillis() * 1_000_000;
            this.events = events;
        }

        void cancel() {
            cancelled = true;
        }

        @Override
        public void run() {
            jobs.add(this);
            inFlight.incrementAndGet();
            long start = System.nanoTime();
            try {
                if (cancelled || System.nanoTime() > deadline) {
                    throw new GenerationCancelledException(0);
                }
                GenerationResult r = pipeline.join().generate(parsed.request(), this::onStep);
                long nanos = System.nanoTime() - start;
                metrics.generation(nanos, r.steps());
                averageSeconds = 0.8 * averageSeconds + 0.2 * nanos / 1e9;
                result.complete(r);
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            } finally {
                inFlight.decrementAndGet();
                jobs.remove(this);
            }
        }

        private void onStep(StepProgress p) {
            if (cancelled || closing || System.nanoTime() > deadline) {
                p.cancel();
                return;
            }
            if (events != null) {
                ObjectNode e = JSON.createObjectNode().put("step", p.step()).put("total", p.totalSteps())
                        .put("timestep", p.timestep());
                if (parsed.preview()) {
                    e.put("preview", Base64.getEncoder().encodeToString(png(p.preview(0))));
                }
                // A slow reader loses progress events, never the generation's time.
                events.offer("event: progress\ndata: " + e + "\n\n");
            }
        }
    }

    /** Parses and queues a request, or answers it with the reason it was refused (and returns null). */
    private Job accept(HttpExchange ex, JsonNode body) throws IOException {
        return accept(ex, body, null);
    }

    private Job accept(HttpExchange ex, JsonNode body, BlockingQueue<String> events) throws IOException {
        if (body == null) {
            return null; // readBody answered already
        }
        if (shuttingDown) {
            metrics.request(Metrics.Outcome.UNAVAILABLE);
            error(ex, 503, null, "the server is shutting down");
            return null;
        }
        if (!pipeline.isDone()) {
            metrics.request(Metrics.Outcome.UNAVAILABLE);
            ex.getResponseHeaders().set("Retry-After", "5");
            error(ex, 503, null, "the model is loading");
            return null;
        }
        if (pipeline.isCompletedExceptionally()) {
            metrics.request(Metrics.Outcome.UNAVAILABLE);
            error(ex, 503, null, "the model failed to load: " + loadError());
            return null;
        }
        RequestParser.Parsed parsed;
        try {
            parsed = RequestParser.parse(body, config.timeout().toMillis());
            if (!parsed.base64() && parsed.request().samples() > 1) {
                throw new RequestParser.BadRequest("samples", parsed.request().samples()
                        + " images need \"base64\": true (the binary answer holds one image)");
            }
        } catch (RequestParser.BadRequest e) {
            metrics.request(Metrics.Outcome.BAD_REQUEST);
            error(ex, 400, e.field, e.getMessage());
            return null;
        }
        Job job = new Job(parsed, events);
        try {
            if (config.queue() == 0 && inFlight.get() > 0) {
                throw new RejectedExecutionException();
            }
            generator.execute(job);
        } catch (RejectedExecutionException e) {
            metrics.request(Metrics.Outcome.QUEUE_FULL);
            long wait = Math.max(1, Math.round(averageSeconds * (generator.getQueue().size() + 1)));
            ex.getResponseHeaders().set("Retry-After", Long.toString(wait));
            error(ex, 429, null, "the queue is full (" + config.queue() + " waiting); retry in about " + wait + " s");
            return null;
        }
        return job;
    }

    /** Why a generation did not produce images. */
    private static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String field;
        final Metrics.Outcome outcome;

        Failure(int status, String field, String message, Metrics.Outcome outcome) {
            super(message);
            this.status = status;
            this.field = field;
            this.outcome = outcome;
        }
    }

    /** Waits for a job; past its deadline the job is cancelled (between steps, or before it starts). */
    private GenerationResult await(Job job) throws Failure {
        long remaining = job.deadline - System.nanoTime();
        try {
            // The running generation checks the deadline itself; the margin covers one last step.
            return job.result.get(Math.max(0, remaining) + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            job.cancel();
            throw timeout(job, 0);
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
            throw new Failure(503, null, "interrupted", Metrics.Outcome.CANCELLED);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof GenerationCancelledException c) {
                if (closing) {
                    throw new Failure(503, null, "the server shut down; cancelled after " + c.completedSteps()
                            + " steps", Metrics.Outcome.UNAVAILABLE);
                }
                if (job.cancelled && System.nanoTime() <= job.deadline) {
                    throw new Failure(503, null, "cancelled after " + c.completedSteps() + " steps",
                            Metrics.Outcome.CANCELLED);
                }
                throw timeout(job, c.completedSteps());
            }
            if (cause instanceof InvalidRequestException invalid) {
                RequestParser.BadRequest bad = job.parsed.badRequest(invalid);
                throw new Failure(400, bad.field, bad.getMessage(), Metrics.Outcome.BAD_REQUEST);
            }
            throw new Failure(500, null, "generation failed: " + cause, Metrics.Outcome.ERROR);
        }
    }

    private Failure timeout(Job job, int steps) {
        return new Failure(503, null, "the generation exceeded its time limit of " + job.parsed.timeoutMillis() / 1000.0
                + " s and was cancelled after " + steps + " steps", Metrics.Outcome.TIMEOUT);
    }

    private void fail(HttpExchange ex, Failure f) throws IOException {
        metrics.request(f.outcome);
        error(ex, f.status, f.field, f.getMessage());
    }

    // --- bodies ---

    /** Reads the body as JSON, or answers 413/400 and returns null. */
    private JsonNode readBody(HttpExchange ex) throws IOException {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.strip()) > config.maxBodyBytes()) {
                    tooLarge(ex);
                    return null;
                }
            } catch (NumberFormatException e) {
                metrics.request(Metrics.Outcome.BAD_REQUEST);
                error(ex, 400, "Content-Length", "not a number: " + length);
                return null;
            }
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (InputStream in = ex.getRequestBody()) {
            byte[] chunk = new byte[65536];
            for (int n; (n = in.read(chunk)) > 0; ) {
                buffer.write(chunk, 0, n);
                if (buffer.size() > config.maxBodyBytes()) {
                    tooLarge(ex);
                    return null;
                }
            }
        }
        try {
            JsonNode node = JSON.readTree(buffer.toByteArray());
            if (node == null || !node.isObject()) {
                metrics.request(Metrics.Outcome.BAD_REQUEST);
                error(ex, 400, "body", "expected a JSON object");
                return null;
            }
            return node;
        } catch (JsonProcessingException e) {
            metrics.request(Metrics.Outcome.BAD_REQUEST);
            error(ex, 400, "body", "malformed JSON: " + e.getOriginalMessage());
            return null;
        }
    }

    private void tooLarge(HttpExchange ex) throws IOException {
        metrics.request(Metrics.Outcome.TOO_LARGE);
        // Read what the client is still sending (up to a bound) so that it reads the 413 instead of a
        // reset connection; past the bound the connection is closed.
        ex.getResponseHeaders().set("Connection", "close");
        try (InputStream in = ex.getRequestBody()) {
            byte[] discard = new byte[65536];
            long left = DRAIN_LIMIT;
            for (int n; left > 0 && (n = in.read(discard)) > 0; ) {
                left -= n;
            }
        } catch (IOException ignored) {
            // The client gave up sending; the answer below may still reach it.
        }
        error(ex, 413, "body", "larger than the limit of " + config.maxBodyBytes() + " bytes");
    }

    /** Query parameters as a JSON object: numbers and booleans typed, everything else a string. */
    static JsonNode queryAsJson(String rawQuery) {
        ObjectNode node = JSON.createObjectNode();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return node;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
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

    private static ObjectNode successBody(GenerationResult result, OutputFormat format) {
        ObjectNode body = JSON.createObjectNode().put("status", "success");
        ArrayNode data = body.putArray("data");
        ArrayNode seeds = body.putArray("seeds");
        for (GeneratedImage image : result.images()) {
            data.add(Base64.getEncoder().encodeToString(encode(image, format)));
            seeds.add(image.seed());
        }
        body.put("time", Double.parseDouble(seconds(result)));
        return body;
    }

    private static byte[] encode(GeneratedImage image, OutputFormat format) {
        return format == OutputFormat.PNG ? image.toPng() : image.toJpeg(0.92f);
    }

    private static byte[] png(java.awt.image.BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            javax.imageio.ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static String seconds(GenerationResult result) {
        return String.format(Locale.ROOT, "%.3f", result.total().toNanos() / 1e9);
    }

    private static ObjectNode errorBody(String field, String message) {
        ObjectNode body = JSON.createObjectNode().put("status", "error");
        if (field == null) {
            body.putNull("field");
        } else {
            body.put("field", field);
        }
        return body.put("message", message);
    }

    private void error(HttpExchange ex, int status, String field, String message) throws IOException {
        respondJson(ex, status, errorBody(field, message));
    }

    private static void respondJson(HttpExchange ex, int status, JsonNode body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", JSON_TYPE);
        respond(ex, status, JSON.writeValueAsBytes(body));
    }

    private static void respond(HttpExchange ex, int status, byte[] body) throws IOException {
        try (ex) {
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                ex.getResponseBody().write(body);
            }
        }
    }

    private String loadError() {
        try {
            pipeline.join();
            return "";
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return String.valueOf(cause.getMessage());
        }
    }

    // --- shutdown ---

    /**
     * Graceful shutdown: refuses new work (503, {@code /readyz} 503), lets queued and running
     * generations finish within the grace period, cancels the rest between steps, then stops
     * the listener and closes the pipeline. May be called twice.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        shuttingDown = true;
        generator.shutdown();
        try {
            if (!generator.awaitTermination(config.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
                closing = true;
                jobs.forEach(Job::cancel);
                for (Runnable queued : generator.shutdownNow()) {
                    ((Job) queued).cancel();
                    ((Job) queued).result.completeExceptionally(new GenerationCancelledException(0));
                }
                generator.awaitTermination(60, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Let the handlers write their last answers.
        http.stop(1);
        handlers.shutdown();
        // Still loading: the loader closes the pipeline when it finds the server closed.
        if (!pipeline.completeExceptionally(new IllegalStateException("server closed"))
                && !pipeline.isCompletedExceptionally()) {
            pipeline.join().close();
        }
    }
}
