// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.function.DoubleSupplier;

/**
 * The server's metrics on the Prometheus Java client, in a registry of the server's own (not the
 * process-wide default): requests by API and outcome, generation time, steps, the queue, the
 * memory budget and the last admitted estimate, with the client's JVM and process metrics.
 */
final class Metrics {

    /** How a request ended. */
    enum Outcome { SUCCESS, BAD_REQUEST, UNAUTHORIZED, TOO_LARGE, QUEUE_FULL, TIMEOUT, CANCELLED, UNAVAILABLE, ERROR }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram generationSeconds;
    private final Counter steps;
    private final Gauge stepsPerSecond;
    private final Gauge lastEstimate;
    private final PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();

    Metrics(DoubleSupplier queueDepth, DoubleSupplier inFlight, DoubleSupplier memoryBudget) {
        requests = Counter.builder().name("sdxl4j_requests_total").help("Generation requests by API and outcome.")
                .labelNames("api", "outcome").register(registry);
        generationSeconds = Histogram.builder().name("sdxl4j_generation_seconds")
                .help("Wall time of finished generations.").unit(null)
                .classicUpperBounds(0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300).classicOnly().register(registry);
        steps = Counter.builder().name("sdxl4j_steps_total").help("Denoising steps run.").register(registry);
        stepsPerSecond = Gauge.builder().name("sdxl4j_steps_per_second")
                .help("Denoising steps per second of the last finished generation.").register(registry);
        lastEstimate = Gauge.builder().name("sdxl4j_admitted_memory_estimate_bytes")
                .help("The estimated peak working memory of the last admitted request.").register(registry);
        GaugeWithCallback.builder().name("sdxl4j_queue_depth").help("Requests waiting for the pipeline.")
                .callback(cb -> cb.call(queueDepth.getAsDouble())).register(registry);
        GaugeWithCallback.builder().name("sdxl4j_in_flight").help("Generations running now.")
                .callback(cb -> cb.call(inFlight.getAsDouble())).register(registry);
        GaugeWithCallback.builder().name("sdxl4j_memory_budget_bytes")
                .help("The working-memory budget a request's estimate is checked against.")
                .callback(cb -> cb.call(memoryBudget.getAsDouble())).register(registry);
        JvmMetrics.builder().register(registry);
    }

    void request(String api, Outcome outcome) {
        requests.labelValues(api, outcome.name().toLowerCase(Locale.ROOT)).inc();
    }

    /** A finished generation: its wall time and the denoising steps it ran. */
    void generation(long nanos, int stepCount) {
        double seconds = nanos / 1e9;
        generationSeconds.observe(seconds);
        steps.inc(stepCount);
        if (nanos > 0) {
            stepsPerSecond.set(stepCount / seconds);
        }
    }

    void admitted(long estimateBytes) {
        lastEstimate.set(estimateBytes);
    }

    String contentType() {
        return text.getContentType();
    }

    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            text.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
