// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import io.sdxl4j.GenerationCancelledException;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.StepProgress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission and the one generator thread. A request is admitted when the pipeline is ready, the
 * request fits the model ({@link SdxlPipeline#check}), its estimated peak working memory
 * ({@link SdxlPipeline#estimatePeakMemory}) is within the budget, and the bounded queue has room;
 * otherwise it is answered at once (503, 400/422, 413, 429). Admitted work runs one request at a
 * time on the generator thread, which is also where input images are decoded (by the pipeline)
 * and where an API's last preparation runs (an OpenAI mask's transparency turned into a mask).
 */
final class GenerationQueue {

    private static final Logger LOG = LoggerFactory.getLogger("io.sdxl4j.server");

    /**
     * What an API hands over.
     *
     * @param request  the request as parsed, used for the checks and the memory estimate
     * @param finish   run on the generator thread before generating (decoding-dependent preparation)
     * @param names    the client's field names, for errors
     * @param timeoutMillis the request's time limit, queueing included
     * @param onStep   called after each step (streaming progress), or null
     */
    record Submission(GenerationRequest request, UnaryOperator<GenerationRequest> finish, FieldNames names,
                      long timeoutMillis, Consumer<StepProgress> onStep) {

        Submission(GenerationRequest request, FieldNames names, long timeoutMillis) {
            this(request, UnaryOperator.identity(), names, timeoutMillis, null);
        }
    }

    /** A generation waiting for or holding the pipeline. */
    final class Job implements Runnable {
        final String api;
        final String requestId;
        final Submission submission;
        final long deadline;
        final long estimate;
        final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        volatile boolean cancelled;
        volatile int step;
        volatile int total;
        volatile long startedNanos;

        Job(String api, String requestId, Submission submission, long estimate) {
            this.api = api;
            this.requestId = requestId;
            this.submission = submission;
            this.estimate = estimate;
            this.deadline = System.nanoTime() + submission.timeoutMillis() * 1_000_000;
        }

        void cancel() {
            cancelled = true;
        }

        @Override
        public void run() {
            running.add(this);
            inFlight.incrementAndGet();
            startedNanos = System.nanoTime();
            try {
                if (cancelled || closing || System.nanoTime() > deadline) {
                    throw new GenerationCancelledException(0);
                }
                GenerationRequest request = submission.finish().apply(submission.request());
                GenerationResult r = pipeline.join().generate(request, this::onStep);
                long nanos = System.nanoTime() - startedNanos;
                metrics.generation(nanos, r.steps());
                averageSeconds = 0.8 * averageSeconds + 0.2 * nanos / 1e9;
                result.complete(r);
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            } finally {
                inFlight.decrementAndGet();
                running.remove(this);
            }
        }

        private void onStep(StepProgress p) {
            step = p.step();
            total = p.totalSteps();
            if (cancelled || closing || System.nanoTime() > deadline) {
                p.cancel();
                return;
            }
            listener.onStep(requestId, p.step(), p.totalSteps());
            if (submission.onStep() != null) {
                submission.onStep().accept(p);
            }
        }
    }

    private final CompletableFuture<SdxlPipeline> pipeline;
    private final Sdxl4jServer.Config config;
    private final Metrics metrics;
    private final ServerListener listener;
    private final ThreadPoolExecutor generator;
    private final Set<Job> running = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile long budget;
    private volatile boolean shuttingDown;
    private volatile boolean closing;
    private volatile double averageSeconds = 10;

    GenerationQueue(CompletableFuture<SdxlPipeline> pipeline, Sdxl4jServer.Config config, Metrics metrics,
                    ServerListener listener) {
        this.pipeline = pipeline;
        this.config = config;
        this.metrics = metrics;
        this.listener = listener;
        this.budget = config.maxMemoryBytes();
        this.generator = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(Math.max(1, config.queue())), r -> {
                    Thread t = new Thread(r, "sdxl4j-generator");
                    t.setDaemon(true);
                    return t;
                });
    }

    /** Fixes the budget once the model has loaded (the default is taken from the memory left then). */
    void modelLoaded() {
        if (budget <= 0) {
            budget = MemoryBudget.fromMachine();
        }
        LOG.info("memory budget for a request's working memory: {}", MemoryBudget.format(budget));
    }

    long budget() {
        return budget;
    }

    int queued() {
        return generator.getQueue().size();
    }

    int inFlight() {
        return inFlight.get();
    }

    /** The generation running now, if any. */
    Job current() {
        return running.stream().findFirst().orElse(null);
    }

    boolean ready() {
        return pipeline.isDone() && !pipeline.isCompletedExceptionally() && !shuttingDown;
    }

    /**
     * Admits and queues a request, or refuses it.
     *
     * @throws ApiError 503 (loading, failed, shutting down), the API's status for a field that does
     *                  not fit, 413 beyond the memory budget, 429 when the queue is full
     */
    Job submit(String api, String requestId, Submission s) {
        if (shuttingDown) {
            throw new ApiError(503, null, "the server is shutting down");
        }
        if (!pipeline.isDone()) {
            throw new ApiError(503, null, "the model is loading").header("Retry-After", "5");
        }
        if (pipeline.isCompletedExceptionally()) {
            throw new ApiError(503, null, "the model failed to load");
        }
        SdxlPipeline p = pipeline.join();
        long estimate;
        try {
            p.check(s.request());
            estimate = p.estimatePeakMemory(s.request());
        } catch (InvalidRequestException e) {
            throw s.names().invalid(e);
        }
        // The adapter sets the pipeline holds came after the budget was taken: they count against it.
        long room = budget - p.adapterMemory();
        if (estimate > room) {
            throw tooLarge(p, s, estimate, room);
        }
        Job job = new Job(api, requestId, s, estimate);
        try {
            if (config.queue() == 0 && inFlight.get() > 0) {
                throw new RejectedExecutionException();
            }
            generator.execute(job);
        } catch (RejectedExecutionException e) {
            long wait = Math.max(1, Math.round(averageSeconds * (generator.getQueue().size() + 1)));
            throw new ApiError(429, null, "the queue is full (" + config.queue() + " waiting); retry in about "
                    + wait + " s").header("Retry-After", Long.toString(wait));
        }
        metrics.admitted(estimate);
        return job;
    }

    // The size field the client gave (the image's, when the size comes from it), the estimate, the budget, and
    // the largest square of the same request that fits.
    private ApiError tooLarge(SdxlPipeline p, Submission s, long estimate, long room) {
        GenerationRequest r = s.request();
        if (!(r.loras().isEmpty() && r.embeddings().isEmpty())
                && fits(p, r.toBuilder().loras(List.of()).embeddings(List.of()).build(), room)) {
            return new ApiError(413, s.names().client("loras"), "this adapter set would be opened beside the"
                    + " model (its text encoders and UNet again, with the merged weights): an estimated "
                    + MemoryBudget.format(estimate) + " in all, beyond the " + MemoryBudget.format(room)
                    + " this server's budget (--max-memory) leaves; the request fits without them");
        }
        boolean sizeFromImage = r.width().isEmpty() && !(r.mode() instanceof GenerationMode.TextToImage);
        String field;
        if (sizeFromImage) {
            field = s.names().client("image");
        } else if (r.samples() > 1 && fits(p, r.toBuilder().samples(1).build(), room)) {
            field = s.names().client("samples");
        } else {
            int w = r.width().orElse(p.model().defaultImageSize().width());
            int h = r.height().orElse(p.model().defaultImageSize().height());
            field = s.names().client(h > w ? "height" : "width");
        }
        String size = r.width().isPresent() ? r.width().getAsInt() + "x" + r.height().orElse(-1)
                : sizeFromImage ? "the input image's size" : "the model's default size";
        int largest = 0;
        for (int side = 64; side <= GenerationRequest.MAX_SIZE; side += 64) {
            try {
                if (!fits(p, r.toBuilder().size(side, side).build(), room)) {
                    break;
                }
                largest = side;
            } catch (InvalidRequestException e) {
                break;
            }
        }
        return new ApiError(413, field, r.samples() + " image(s) at " + size + " need an estimated "
                + MemoryBudget.format(estimate) + " of working memory, beyond this server's budget of "
                + MemoryBudget.format(room) + " (--max-memory" + (room < budget ? ", less the adapter sets held" : "")
                + "); "
                + (largest > 0 ? "the largest square this model fits is " + largest + "x" + largest
                : "not even 64x64 fits") + (r.samples() > 1 ? " for " + r.samples() + " images" : ""));
    }

    private static boolean fits(SdxlPipeline p, GenerationRequest r, long room) {
        return p.estimatePeakMemory(r) <= room;
    }

    /** Why a job produced no images, as the API should answer. */
    static final class ClientGone extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ClientGone() {
            super("the client closed the connection", null, false, false);
        }
    }

    /**
     * Waits for a job; past its deadline the job is cancelled (between steps, or before it starts);
     * when {@code clientGone} reports a hang-up, the job is cancelled and {@link ClientGone} thrown.
     */
    GenerationResult await(Job job, java.util.function.BooleanSupplier clientGone) {
        while (true) {
            try {
                GenerationResult r = job.result.get(200, TimeUnit.MILLISECONDS);
                outcome(job, Metrics.Outcome.SUCCESS);
                return r;
            } catch (TimeoutException e) {
                if (clientGone.getAsBoolean()) {
                    job.cancel();
                    outcome(job, Metrics.Outcome.CANCELLED);
                    throw new ClientGone();
                }
                if (System.nanoTime() > job.deadline + TimeUnit.SECONDS.toNanos(60)) {
                    job.cancel(); // the running generation checks the deadline itself; this is the last resort
                    throw failure(job, timeout(job, job.step));
                }
            } catch (InterruptedException e) {
                job.cancel();
                Thread.currentThread().interrupt();
                throw failure(job, new ApiError(503, null, "interrupted"));
            } catch (ExecutionException e) {
                throw failure(job, cause(job, e.getCause()));
            }
        }
    }

    /** The answer for a job that ended with {@code cause}. */
    ApiError cause(Job job, Throwable cause) {
        if (cause instanceof GenerationCancelledException c) {
            if (closing) {
                return new ApiError(503, null, "the server shut down; cancelled after " + c.completedSteps() + " steps");
            }
            if (job.cancelled && System.nanoTime() <= job.deadline) {
                return new ApiError(503, null, "cancelled after " + c.completedSteps() + " steps");
            }
            return timeout(job, c.completedSteps());
        }
        if (cause instanceof InvalidRequestException invalid) {
            return job.submission.names().invalid(invalid);
        }
        LOG.error("request {}: generation failed", job.requestId, cause);
        return new ApiError(500, null, "the generation failed (request id " + job.requestId + "; the server's log"
                + " has the cause)");
    }

    private ApiError failure(Job job, ApiError error) {
        Metrics.Outcome o = switch (error.status) {
            case 400, 422 -> Metrics.Outcome.BAD_REQUEST;
            case 500 -> Metrics.Outcome.ERROR;
            default -> error.getMessage().contains("time limit") ? Metrics.Outcome.TIMEOUT
                    : closing ? Metrics.Outcome.UNAVAILABLE : Metrics.Outcome.CANCELLED;
        };
        outcome(job, o);
        return error;
    }

    void outcome(Job job, Metrics.Outcome o) {
        metrics.request(job.api, o);
        listener.onFinish(job.requestId, o.name().toLowerCase(java.util.Locale.ROOT));
    }

    private static ApiError timeout(Job job, int steps) {
        return new ApiError(503, null, "the generation exceeded its time limit of "
                + job.submission.timeoutMillis() / 1000.0 + " s and was cancelled after " + steps + " steps");
    }

    /** Refuses new work from now on. */
    void stopAdmitting() {
        shuttingDown = true;
    }

    /**
     * Lets queued and running work finish within {@code graceMillis}, then cancels the rest between steps.
     */
    void drain(long graceMillis) {
        shuttingDown = true;
        generator.shutdown();
        try {
            if (!generator.awaitTermination(graceMillis, TimeUnit.MILLISECONDS)) {
                closing = true;
                running.forEach(Job::cancel);
                for (Runnable queued : generator.shutdownNow()) {
                    ((Job) queued).cancel();
                    ((Job) queued).result.completeExceptionally(new GenerationCancelledException(0));
                }
                generator.awaitTermination(60, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
