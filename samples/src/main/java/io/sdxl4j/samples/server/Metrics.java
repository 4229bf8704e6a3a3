// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** The server's counters, rendered in Prometheus' text exposition format (version 0.0.4). */
final class Metrics {

    /** How a request ended. */
    enum Outcome { SUCCESS, BAD_REQUEST, TOO_LARGE, QUEUE_FULL, TIMEOUT, CANCELLED, UNAVAILABLE, ERROR }

    /** Upper bounds of the generation-time histogram, seconds. */
    private static final double[] BUCKETS = {0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300};

    private final Map<Outcome, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder[] bucketCounts = new LongAdder[BUCKETS.length];
    private final LongAdder generations = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private final AtomicLong generationNanos = new AtomicLong();
    private final AtomicLong lastStepsPerSecondBits = new AtomicLong(Double.doubleToLongBits(0));
    private final IntSupplier queueDepth;
    private final IntSupplier inFlight;

    Metrics(IntSupplier queueDepth, IntSupplier inFlight) {
        this.queueDepth = queueDepth;
        this.inFlight = inFlight;
        for (Outcome o : Outcome.values()) {
            requests.put(o, new LongAdder());
        }
        for (int i = 0; i < BUCKETS.length; i++) {
            bucketCounts[i] = new LongAdder();
        }
    }

    void request(Outcome outcome) {
        requests.get(outcome).increment();
    }

    /** A finished generation: its wall time and the denoising steps it ran. */
    void generation(long nanos, int stepCount) {
        double seconds = nanos / 1e9;
        for (int i = 0; i < BUCKETS.length; i++) {
            if (seconds <= BUCKETS[i]) {
                bucketCounts[i].increment();
            }
        }
        generations.increment();
        steps.add(stepCount);
        generationNanos.addAndGet(nanos);
        if (nanos > 0) {
            lastStepsPerSecondBits.set(Double.doubleToLongBits(stepCount / seconds));
        }
    }

    String render() {
        StringBuilder b = new StringBuilder();
        b.append("# HELP sdxl4j_requests_total Generation requests by outcome.\n");
        b.append("# TYPE sdxl4j_requests_total counter\n");
        for (Outcome o : Outcome.values()) {
            b.append("sdxl4j_requests_total{outcome=\"").append(o.name().toLowerCase(Locale.ROOT)).append("\"} ")
                    .append(requests.get(o).sum()).append('\n');
        }
        b.append("# HELP sdxl4j_generation_seconds Wall time of finished generations.\n");
        b.append("# TYPE sdxl4j_generation_seconds histogram\n");
        for (int i = 0; i < BUCKETS.length; i++) {
            b.append("sdxl4j_generation_seconds_bucket{le=\"").append(number(BUCKETS[i])).append("\"} ")
                    .append(bucketCounts[i].sum()).append('\n');
        }
        long count = generations.sum();
        b.append("sdxl4j_generation_seconds_bucket{le=\"+Inf\"} ").append(count).append('\n');
        b.append("sdxl4j_generation_seconds_sum ").append(number(generationNanos.get() / 1e9)).append('\n');
        b.append("sdxl4j_generation_seconds_count ").append(count).append('\n');
        b.append("# HELP sdxl4j_queue_depth Requests waiting for the pipeline.\n");
        b.append("# TYPE sdxl4j_queue_depth gauge\n");
        b.append("sdxl4j_queue_depth ").append(queueDepth.getAsInt()).append('\n');
        b.append("# HELP sdxl4j_in_flight Generations running now.\n");
        b.append("# TYPE sdxl4j_in_flight gauge\n");
        b.append("sdxl4j_in_flight ").append(inFlight.getAsInt()).append('\n');
        b.append("# HELP sdxl4j_steps_total Denoising steps run.\n");
        b.append("# TYPE sdxl4j_steps_total counter\n");
        b.append("sdxl4j_steps_total ").append(steps.sum()).append('\n');
        b.append("# HELP sdxl4j_steps_per_second Denoising steps per second of the last finished generation.\n");
        b.append("# TYPE sdxl4j_steps_per_second gauge\n");
        b.append("sdxl4j_steps_per_second ").append(number(Double.longBitsToDouble(lastStepsPerSecondBits.get())))
                .append('\n');
        return b.toString();
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) + ".0"
                : String.format(Locale.ROOT, "%.6g", v);
    }
}
