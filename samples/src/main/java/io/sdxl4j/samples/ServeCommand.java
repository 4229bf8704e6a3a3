// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.server.Sdxl4jServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sdxl4j serve}: the HTTP service, until the process is stopped (SIGTERM/Ctrl-C shut it down gracefully). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve POST /v1/generate (hosted SDXL APIs' JSON), /v1/generate/stream (server-sent events),"
                + " /healthz, /readyz and /metrics. Without --model, serves the built-in tiny random model.")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "SDXL ONNX export (default: the built-in tiny model).")
    Path model;

    @Option(names = "--refiner", paramLabel = "DIR", description = "SDXL refiner ONNX export, for \"refiner\": true.")
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

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "33554432",
            description = "Largest request body; more gets 413 (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        Path base = model != null ? model : BuiltInModel.extract();
        Sdxl4jServer.Config config = Sdxl4jServer.Config.defaults().withHost(host).withPort(port).withQueue(queue)
                .withTimeout(Duration.ofSeconds(timeoutSeconds)).withMaxBodyBytes(maxBody);
        Sdxl4jServer server = Sdxl4jServer.start(() -> SdxlPipeline.load(base, refiner, engine.toOptions()), config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "sdxl4j-shutdown"));
        System.err.println("sdxl4j: serving " + base + " on http://" + host + ":" + server.port()
                + " (POST /v1/generate); loading the model");
        stopped.await();
        return 0;
    }
}
