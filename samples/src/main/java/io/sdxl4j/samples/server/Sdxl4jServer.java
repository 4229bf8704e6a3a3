// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP service of {@code sdxl4j serve} over one {@link SdxlPipeline}, on Javalin and Jetty 12:
 * the native API ({@code /v1/generate} and its server-sent-event stream), the five hosted SDXL
 * APIs' own endpoints (Baseten, Dataoorts, Cloudflare Workers AI, Segmind, Replicate's Cog), the
 * OpenAI Images API and AUTOMATIC1111's, with health, readiness and Prometheus metrics. Routes are
 * exact; the connector has a read (idle) timeout, a header limit, and the body limit is enforced
 * while reading. One pipeline generates one request at a time; requests wait in a bounded queue
 * after admission ({@link GenerationQueue}: the model's checks and the request's estimated peak
 * working memory against the budget), and every failure is answered in the client's API's shape,
 * with the field as the client spelt it and a request id, and leaves the server serving.
 * {@link #close()} stops taking work, lets queued and running generations finish within the grace
 * period, cancels what remains, then stops the listener and closes the pipeline.
 */
public final class Sdxl4jServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger("io.sdxl4j.server");
    private static final Logger ACCESS = LoggerFactory.getLogger("io.sdxl4j.server.access");
    static final String ANSWERED = "sdxl4j.answered";

    /**
     * The server's settings.
     *
     * @param host           address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
     * @param port           port; 0 picks a free one (default 8080)
     * @param queue          requests that may wait while one generates (default 8)
     * @param maxBodyBytes   largest request body; also Jackson's longest string (default 32 MiB)
     * @param timeout        longest a request may take, queueing included (default 5 minutes)
     * @param shutdownGrace  how long {@link #close()} lets accepted work finish (default 30 s)
     * @param readTimeout    how long a connection may send nothing while its request or the next one is
     *                       expected (Jetty's idle timeout; default 30 s)
     * @param maxHeaderBytes largest request line and headers (default 16 KiB)
     * @param maxMemoryBytes the working-memory budget a request's estimate is checked against; 0 takes
     *                       it from the machine when the model has loaded ({@link MemoryBudget})
     * @param apiKey         the key every API path then requires, or null for none (default none)
     * @param metricsNeedKey whether {@code /metrics} needs the key too (default false)
     * @param corsOrigins    origins allowed by CORS ({@code *} for any); empty: no CORS headers (default)
     * @param listener       generation events, for monitoring and tests
     */
    public record Config(String host, int port, int queue, long maxBodyBytes, Duration timeout,
                         Duration shutdownGrace, Duration readTimeout, int maxHeaderBytes, long maxMemoryBytes,
                         String apiKey, boolean metricsNeedKey, List<String> corsOrigins, ServerListener listener) {

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
            if (readTimeout.isNegative() || readTimeout.isZero()) {
                throw new IllegalArgumentException("readTimeout: " + readTimeout + " is not positive");
            }
            if (maxHeaderBytes < 1024) {
                throw new IllegalArgumentException("maxHeaderBytes: " + maxHeaderBytes + " is under 1024");
            }
            if (maxMemoryBytes < 0) {
                throw new IllegalArgumentException("maxMemoryBytes: " + maxMemoryBytes + " is negative");
            }
            if (apiKey != null && apiKey.isBlank()) {
                throw new IllegalArgumentException("apiKey: empty");
            }
            corsOrigins = List.copyOf(corsOrigins);
            Objects.requireNonNull(listener, "listener");
        }

        public static Config defaults() {
            return new Config("127.0.0.1", 8080, 8, 32L << 20, Duration.ofMinutes(5), Duration.ofSeconds(30),
                    Duration.ofSeconds(30), 16 << 10, 0, null, false, List.of(), ServerListener.NONE);
        }

        public Config withHost(String h) {
            return new Config(h, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withPort(int p) {
            return new Config(host, p, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withQueue(int q) {
            return new Config(host, port, q, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withMaxBodyBytes(long bytes) {
            return new Config(host, port, queue, bytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withTimeout(Duration t) {
            return new Config(host, port, queue, maxBodyBytes, t, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withShutdownGrace(Duration g) {
            return new Config(host, port, queue, maxBodyBytes, timeout, g, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withReadTimeout(Duration t) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, t, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withMaxHeaderBytes(int bytes) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, bytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withMaxMemoryBytes(long bytes) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    bytes, apiKey, metricsNeedKey, corsOrigins, listener);
        }

        public Config withApiKey(String key) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, key, metricsNeedKey, corsOrigins, listener);
        }

        public Config withMetricsNeedKey(boolean need) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, need, corsOrigins, listener);
        }

        public Config withCorsOrigins(List<String> origins) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, origins, listener);
        }

        public Config withListener(ServerListener l) {
            return new Config(host, port, queue, maxBodyBytes, timeout, shutdownGrace, readTimeout, maxHeaderBytes,
                    maxMemoryBytes, apiKey, metricsNeedKey, corsOrigins, l);
        }
    }

    /** A handler of one route, with the exchange it answers. */
    @FunctionalInterface
    interface Route {
        void handle(Exchange ex) throws Exception;
    }

    /** Where an API registers its routes: each is exact, wrapped with the key check and the API's errors. */
    final class Routes {
        private final JavalinConfig config;
        private final ClientApi api;

        private Routes(JavalinConfig config, ClientApi api) {
            this.config = config;
            this.api = api;
        }

        void post(String path, Route route) {
            config.routes.addHttpHandler(HandlerType.POST, path, wrap(api, true, route));
        }

        void put(String path, Route route) {
            config.routes.addHttpHandler(HandlerType.PUT, path, wrap(api, true, route));
        }

        void get(String path, Route route) {
            config.routes.addHttpHandler(HandlerType.GET, path, wrap(api, true, route));
        }

        /** A route that needs no key (health). */
        void open(HandlerType method, String path, Route route) {
            config.routes.addHttpHandler(method, path, wrap(api, false, route));
        }
    }

    private final Config config;
    private final Json json;
    private final ApiKeys keys;
    private final Metrics metrics;
    private final GenerationQueue queue;
    private final CompletableFuture<SdxlPipeline> pipeline = new CompletableFuture<>();
    private final NativeApi nativeApi;
    private Javalin app;
    private boolean closed;

    private Sdxl4jServer(Config config) {
        this.config = config;
        this.json = new Json(config.maxBodyBytes());
        this.keys = new ApiKeys(config.apiKey());
        GenerationQueue[] q = new GenerationQueue[1];
        this.metrics = new Metrics(() -> q[0].queued(), () -> q[0].inFlight(), () -> q[0].budget());
        this.queue = q[0] = new GenerationQueue(pipeline, config, metrics, config.listener());
        this.nativeApi = new NativeApi(this);
    }

    /**
     * The pipeline options {@code serve} runs with: the given ones with ONNX Runtime's arena
     * shrinkage on, so that a large request's working memory goes back to the system.
     */
    public static PipelineOptions servingOptions(PipelineOptions options) {
        return options.toBuilder().arenaShrinkage(true).build();
    }

    /** A memory size as {@code --max-memory} takes it ({@code 8g}, {@code 512MiB}, bytes). */
    public static long parseSize(String text) {
        return MemoryBudget.parse(text);
    }

    /**
     * Starts serving at once ({@code /healthz} answers while the models load) and loads the
     * pipeline on another thread; {@code /readyz} turns 200 when it is loaded.
     */
    public static Sdxl4jServer start(Supplier<SdxlPipeline> loader, Config config) {
        Sdxl4jServer server = new Sdxl4jServer(config);
        server.listen();
        if (config.apiKey() == null && !loopback(config.host())) {
            LOG.warn("listening on {} beyond the loopback interface without an API key: anyone who can reach it can"
                    + " generate; set --api-key or --api-key-file", config.host());
        }
        Thread.ofVirtual().name("sdxl4j-loader").start(() -> {
            try {
                SdxlPipeline loaded = loader.get();
                server.queue.modelLoaded();
                if (!server.pipeline.complete(loaded)) {
                    loaded.close(); // the server closed while the models loaded
                }
            } catch (RuntimeException | Error e) {
                LOG.error("the model failed to load", e);
                server.pipeline.completeExceptionally(e);
            }
        });
        return server;
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private void listen() {
        List<ClientApi> apis = List.of(nativeApi, new BasetenApi(this), new DataoortsApi(this),
                new CloudflareApi(this), new SegmindApi(this), new ReplicateApi(this), new OpenAiApi(this),
                new Automatic1111Api(this));
        app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.startup.showOldJavalinVersionWarning = false;
            c.concurrency.useVirtualThreads = true;
            c.http.maxRequestSize = config.maxBodyBytes();
            c.http.prefer405over404 = true;
            c.router.ignoreTrailingSlashes = false;
            c.router.treatMultipleSlashesAsSingleSlash = false;
            c.router.caseInsensitiveRoutes = false;
            c.jetty.multipartConfig.maxTotalRequestSize(config.maxBodyBytes(), io.javalin.config.SizeUnit.BYTES);
            c.jetty.multipartConfig.maxFileSize(config.maxBodyBytes(), io.javalin.config.SizeUnit.BYTES);
            c.jetty.multipartConfig.maxInMemoryFileSize((int) Math.min(Integer.MAX_VALUE, config.maxBodyBytes()),
                    io.javalin.config.SizeUnit.BYTES);
            c.jetty.modifyHttpConfiguration(http -> {
                http.setRequestHeaderSize(config.maxHeaderBytes());
                http.setSendServerVersion(false);
                http.setSendXPoweredBy(false);
            });
            c.jetty.addConnector((server, http) -> {
                ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
                connector.setHost(config.host());
                connector.setPort(config.port());
                connector.setIdleTimeout(config.readTimeout().toMillis());
                return connector;
            });
            c.jetty.modifyServer(server -> {
                // Jetty's graceful stop waits only for the requests a GracefulHandler tracks: without
                // one, stop() cuts the answer of a generation that has just finished mid-body.
                // Javalin attaches its servlet context inside a wrapper it finds on the server.
                server.setHandler(new GracefulHandler());
                server.setStopTimeout(Math.max(1000, config.shutdownGrace().toMillis()));
            });
            if (!config.corsOrigins().isEmpty()) {
                c.bundledPlugins.enableCors(cors -> cors.addRule(rule -> {
                    if (config.corsOrigins().contains("*")) {
                        rule.anyHost();
                    } else {
                        String first = config.corsOrigins().get(0);
                        rule.allowHost(first, config.corsOrigins().subList(1, config.corsOrigins().size())
                                .toArray(String[]::new));
                    }
                    rule.exposeHeader("X-Request-Id");
                    rule.exposeHeader("X-Seed");
                }));
            }
            c.requestLogger.http((ctx, ms) -> ACCESS.info("{} {} {} {} {} ms {}", ctx.ip(), ctx.method(), ctx.path(),
                    ctx.statusCode(), String.format(java.util.Locale.ROOT, "%.1f", ms), ctx.res().getHeader("X-Request-Id")));
            // Open routes: health, readiness, metrics (behind the key only when asked).
            c.routes.addHttpHandler(HandlerType.GET, "/healthz", wrap(nativeApi, false,
                    ex -> ex.json(200, Json.object().put("status", "ok"))));
            c.routes.addHttpHandler(HandlerType.GET, "/readyz", wrap(nativeApi, false, this::readyz));
            c.routes.addHttpHandler(HandlerType.GET, "/metrics", wrap(nativeApi, config.metricsNeedKey(),
                    ex -> ex.bytes(200, metrics.contentType(), metrics.scrape())));
            for (ClientApi api : apis) {
                api.routes(new Routes(c, api));
            }
            c.routes.error(404, ctx -> unrouted(ctx, 404, "no such endpoint: " + ctx.method() + " " + ctx.path()));
            c.routes.error(405, ctx -> unrouted(ctx, 405, ctx.method() + " is not allowed on " + ctx.path()));
        }).start();
    }

    private void unrouted(Context ctx, int status, String message) {
        if (ctx.attribute(ANSWERED) != null) {
            return;
        }
        String id = requestId(ctx);
        ctx.header("X-Request-Id", id);
        ctx.status(status).contentType("application/json")
                .result(Json.bytes(nativeApi.errorBody(new ApiError(status, null, message), id)));
    }

    private void readyz(Exchange ex) {
        ObjectNode body = Json.object();
        if (ready()) {
            ex.json(200, body.put("status", "ready"));
        } else if (pipeline.isCompletedExceptionally()) {
            ex.json(503, body.put("status", "failed").put("message", "the model failed to load (see the server's log)"));
        } else {
            ex.json(503, body.put("status", closed ? "shutting_down" : "loading"));
        }
    }

    private Handler wrap(ClientApi api, boolean needsKey, Route route) {
        return ctx -> {
            String id = requestId(ctx);
            ctx.header("X-Request-Id", id);
            Exchange ex = new Exchange(this, api, ctx, id);
            try {
                if (needsKey) {
                    keys.check(api.auth(), ctx::header);
                }
                route.handle(ex);
            } catch (GenerationQueue.ClientGone gone) {
                ctx.header("Connection", "close");
                LOG.info("request {}: the client hung up; its generation was cancelled", id);
            } catch (ApiError e) {
                count(api, e.status);
                ex.error(e);
            } catch (RuntimeException e) {
                LOG.error("request {} ({} {}) failed", id, ctx.method(), ctx.path(), e);
                metrics.request(api.name(), Metrics.Outcome.ERROR);
                ex.error(new ApiError(500, null, "internal error (request id " + id + "; the server's log has the"
                        + " cause)"));
            }
        };
    }

    // Outcomes decided before a generation ran; those of admitted jobs are counted by the queue.
    private void count(ClientApi api, int status) {
        Metrics.Outcome o = switch (status) {
            case 400, 408, 422 -> Metrics.Outcome.BAD_REQUEST;
            case 401 -> Metrics.Outcome.UNAUTHORIZED;
            case 413 -> Metrics.Outcome.TOO_LARGE;
            case 429 -> Metrics.Outcome.QUEUE_FULL;
            case 503 -> Metrics.Outcome.UNAVAILABLE;
            default -> null;
        };
        if (o != null) {
            metrics.request(api.name(), o);
        }
    }

    private static String requestId(Context ctx) {
        String given = ctx.header("X-Request-Id");
        if (given != null && given.matches("[A-Za-z0-9._-]{1,64}")) {
            return given;
        }
        return UUID.randomUUID().toString();
    }

    // --- for the APIs ---

    Config config() {
        return config;
    }

    Json json() {
        return json;
    }

    Metrics metrics() {
        return metrics;
    }

    GenerationQueue queue() {
        return queue;
    }

    /** The loaded pipeline; 503 while it loads. */
    SdxlPipeline pipeline() {
        if (!pipeline.isDone() || pipeline.isCompletedExceptionally()) {
            throw new ApiError(503, null, pipeline.isDone() ? "the model failed to load" : "the model is loading")
                    .header("Retry-After", "5");
        }
        return pipeline.join();
    }

    // --- lifecycle ---

    /** The port the server listens on. */
    public int port() {
        return app.port();
    }

    /** True when the pipeline is loaded and the server is not shutting down. */
    public boolean ready() {
        return queue.ready();
    }

    /** Waits for the pipeline to load. */
    public void awaitReady(Duration timeout) throws InterruptedException, TimeoutException, ExecutionException {
        pipeline.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Graceful shutdown: refuses new work (503, {@code /readyz} 503), lets queued and running
     * generations finish within the grace period, cancels the rest between steps, then stops the
     * listener (Jetty lets the last answers go out) and closes the pipeline. May be called twice.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.drain(config.shutdownGrace().toMillis());
        List<RuntimeException> failures = new ArrayList<>();
        try {
            app.stop();
        } catch (RuntimeException e) {
            failures.add(e);
        }
        // Still loading: the loader closes the pipeline when it finds the server closed.
        if (!pipeline.completeExceptionally(new IllegalStateException("server closed"))
                && !pipeline.isCompletedExceptionally()) {
            pipeline.join().close();
        }
        if (!failures.isEmpty()) {
            LOG.warn("stopping the HTTP listener failed", failures.get(0));
        }
    }
}
