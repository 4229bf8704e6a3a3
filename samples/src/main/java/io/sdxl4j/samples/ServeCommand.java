// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.server.Sdxl4jServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sdxl4j serve}: the HTTP service, until the process is stopped (SIGTERM/Ctrl-C shut it down gracefully). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve SDXL over HTTP: the native API (POST /v1/generate, /v1/generate/stream), Baseten"
                + " (/production/predict), Dataoorts (/api/v1), Cloudflare Workers AI"
                + " (/client/v4/accounts/{account}/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0), Segmind"
                + " (/v1/sdxl-torch), Replicate's Cog (/predictions), OpenAI Images (/v1/images/generations,"
                + " /v1/images/edits) and AUTOMATIC1111 (/sdapi/v1/...), with /healthz, /readyz and /metrics."
                + " Without --model, serves the built-in tiny random model.")
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "SDXL ONNX export (default: the built-in tiny model).")
    Path model;

    @Option(names = "--refiner", paramLabel = "DIR", description = "SDXL refiner ONNX export, for requests with a refiner.")
    Path refiner;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--queue", defaultValue = "8",
            description = "Requests that may wait while one generates; more get 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "Longest a request may take, queueing included; then it is cancelled with 503"
                    + " (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--read-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long a connection may send nothing while a request is expected or arriving; then"
                    + " 408 or the connection is closed (default: ${DEFAULT-VALUE}).")
    long readTimeoutSeconds;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "33554432",
            description = "Largest request body (and JSON string); more gets 413 (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--max-header", paramLabel = "BYTES", defaultValue = "16384",
            description = "Largest request line and headers; more gets 431 (default: ${DEFAULT-VALUE}).")
    int maxHeader;

    @Option(names = "--max-memory", paramLabel = "SIZE",
            description = "Working-memory budget of one request (8g, 512m, bytes): a request whose estimated peak is"
                    + " larger gets 413 naming its size (default: 3/4 of the memory available once the model has"
                    + " loaded).")
    String maxMemory;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require this key on every API path, in each client's own header (default: none).")
    String apiKey;

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "Read the key from a file (first line).")
    Path apiKeyFile;

    @Option(names = "--metrics-need-key", description = "Put /metrics behind the key too.")
    boolean metricsNeedKey;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN",
            description = "Allow browser pages from this origin (repeatable; * for any). Default: no CORS.")
    List<String> corsOrigins = new ArrayList<>();

    @Option(names = "--keep-arena",
            description = "Keep ONNX Runtime's CPU arena between runs (faster, but a large request's working memory"
                    + " stays resident for the life of the process).")
    boolean keepArena;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        Path base = model != null ? model : BuiltInModel.extract();
        String key = key();
        // serve runs on javacpp unless told otherwise: it frees each run's arena memory (see --keep-arena).
        if (!spec.commandLine().getParseResult().hasMatchedOption("--engine")) {
            engine.engine = "javacpp";
        }
        PipelineOptions options = keepArena ? engine.toOptions(model != null)
                : Sdxl4jServer.servingOptions(engine.toOptions(model != null));
        Sdxl4jServer.Config config = Sdxl4jServer.Config.defaults().withHost(host).withPort(port).withQueue(queue)
                .withTimeout(Duration.ofSeconds(timeoutSeconds)).withReadTimeout(Duration.ofSeconds(readTimeoutSeconds))
                .withMaxBodyBytes(maxBody).withMaxHeaderBytes(maxHeader).withApiKey(key)
                .withMetricsNeedKey(metricsNeedKey).withCorsOrigins(corsOrigins)
                .withMaxMemoryBytes(maxMemory == null ? 0 : parseSize(maxMemory));
        Sdxl4jServer server = Sdxl4jServer.start(() -> refiner == null ? SdxlPipeline.load(base, options)
                : SdxlPipeline.load(base, refiner, options), config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "sdxl4j-shutdown"));
        System.err.println("sdxl4j: serving " + base + " on http://" + host + ":" + server.port()
                + (key == null ? "" : " (API key required)") + "; loading the model");
        stopped.await();
        return 0;
    }

    private String key() throws IOException {
        if (apiKey != null && apiKeyFile != null) {
            throw new IllegalArgumentException("--api-key-file: given with --api-key; use one");
        }
        if (apiKeyFile != null) {
            String first = Files.readString(apiKeyFile, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
            if (first.isEmpty()) {
                throw new IllegalArgumentException("--api-key-file: " + apiKeyFile + " holds no key");
            }
            return first;
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new IllegalArgumentException("--api-key: empty");
        }
        return apiKey;
    }

    static long parseSize(String text) {
        try {
            return Sdxl4jServer.parseSize(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--max-memory: " + e.getMessage());
        }
    }
}
