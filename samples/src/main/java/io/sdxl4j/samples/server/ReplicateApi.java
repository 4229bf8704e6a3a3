// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.HandlerType;
import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.ImageInput;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;
import io.sdxl4j.Refiner;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Replicate's {@code stability-ai/sdxl} through Cog's HTTP API: {@code POST /predictions} (or
 * {@code PUT /predictions/{id}}) with {@code {"input":{…}}} in cog-sdxl's names and defaults —
 * {@code prompt}, {@code negative_prompt} (""), {@code image}, {@code mask} (white repaints),
 * {@code width}/{@code height} (default the model's size, SDXL's 1024), {@code num_outputs} (1 to
 * 4), {@code scheduler} ({@code K_EULER}; {@code DDIM}, {@code DPMSolverMultistep},
 * {@code HeunDiscrete}, {@code KarrasDPM}, {@code K_EULER_ANCESTRAL}, {@code PNDM}),
 * {@code num_inference_steps} (50, 1 to 500), {@code guidance_scale} (7.5, 1 to 50),
 * {@code prompt_strength} (0.8), {@code seed}, {@code refine} ({@code no_refiner},
 * {@code expert_ensemble_refiner}, {@code base_image_refiner}), {@code high_noise_frac} (0.8),
 * {@code refine_steps} (default the steps), {@code apply_watermark} (true: SDXL's invisible
 * watermark as diffusers applies it), {@code replicate_weights} (a fine-tune's name: its folder in the server's LoRA folder, as
 * cog-sdxl's trainer writes it — {@code lora.safetensors}, {@code embeddings.pti},
 * {@code special_params.json}; URLs are refused, the server downloads nothing), {@code lora_scale}
 * (0.6, 0 to 1: the fine-tune's LoRA scale),
 * {@code disable_safety_checker} (there is none to disable). Answers
 * {@code {"status":"succeeded","output":["data:image/png;base64,…"],"metrics":{"predict_time":…},…}};
 * with {@code Prefer: respond-async}, 202 at once and the prediction at
 * {@code GET /predictions/{id}}; {@code POST /predictions/{id}/cancel}; {@code GET /health-check}.
 * Key: {@code Authorization: Bearer KEY}. Invalid input: 422 with FastAPI's
 * {@code {"detail":[{"loc":["body","input",field],"msg":…,"type":"value_error"}]}}.
 */
final class ReplicateApi implements ClientApi {

    private static final List<String> SCHEDULERS = List.of("DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM",
            "K_EULER_ANCESTRAL", "K_EULER", "PNDM");
    private static final int KEPT = 64;

    private final Sdxl4jServer server;
    /** Async predictions by id, the latest {@value #KEPT}. */
    private final Map<String, Prediction> predictions = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Prediction> eldest) {
                    return size() > KEPT;
                }
            });

    private record Prediction(String id, JsonNode input, Instant created, GenerationQueue.Job job) {
    }

    ReplicateApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "replicate";
    }

    @Override
    public Auth auth() {
        return Auth.BEARER;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/predictions", ex -> predict(ex, null));
        routes.put("/predictions/{id}", ex -> predict(ex, ex.ctx.pathParam("id")));
        routes.get("/predictions/{id}", this::status);
        routes.post("/predictions/{id}/cancel", this::cancel);
        routes.open(HandlerType.GET, "/health-check", ex -> {
            boolean ready = server.ready();
            ObjectNode body = Json.object().put("status", ready ? "READY" : "STARTING");
            body.putObject("setup").put("status", ready ? "succeeded" : "starting");
            ex.json(200, body);
        });
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        ObjectNode body = Json.object();
        if (error.field != null && (error.status == 400 || error.status == 422 || error.status == 413)) {
            ObjectNode d = body.putArray("detail").addObject();
            ArrayNode loc = d.putArray("loc").add("body");
            for (String part : error.field.split("\\.")) {
                loc.add(part);
            }
            d.put("msg", error.getMessage()).put("type", "value_error");
        } else {
            body.put("detail", error.getMessage());
        }
        return body.put("request_id", requestId);
    }

    private void predict(Exchange ex, String givenId) {
        ObjectNode envelope = ex.json(422);
        Fields top = new Fields(envelope, 422, "");
        top.refuse("webhook", "webhooks are not sent by this server; with Prefer: respond-async, poll"
                + " GET /predictions/{id}");
        JsonNode input = envelope.get("input");
        if (input == null || !input.isObject()) {
            throw top.error("input", "expected an object with the model's inputs");
        }
        Fields f = new Fields(input, 422, "input.").name("steps", "num_inference_steps")
                .name("guidanceScale", "guidance_scale").name("negativePrompt", "negative_prompt")
                .name("samples", "num_outputs").name("strength", "prompt_strength").name("refiner", "refine")
                .name("refiner.highNoiseFraction", "high_noise_frac").name("refiner.steps", "refine_steps")
                .name("watermark", "apply_watermark").name("mask", "mask");
        GenerationRequest request = request(f);
        var queue = server.queue();
        String id = givenId != null ? givenId : UUID.randomUUID().toString().replace("-", "").substring(0, 20);
        Instant created = Instant.now();
        var job = queue.submit(name(), ex.requestId, new GenerationQueue.Submission(request, f,
                server.config().timeout().toMillis()));
        Prediction prediction = new Prediction(id, input, created, job);
        String prefer = ex.header("Prefer");
        if (prefer != null && prefer.toLowerCase(java.util.Locale.ROOT).contains("respond-async")) {
            predictions.put(id, prediction);
            job.result.whenComplete((r, e) -> queue.outcome(job, e == null ? Metrics.Outcome.SUCCESS
                    : Metrics.Outcome.ERROR));
            ex.json(202, body(prediction, null, null));
            return;
        }
        try {
            GenerationResult result = queue.await(job, ex::clientGone);
            ex.json(200, body(prediction, result, null));
        } catch (ApiError e) {
            if (e.status == 400 || e.status == 422) {
                throw e;
            }
            ex.json(200, body(prediction, null, e));
        }
    }

    private GenerationRequest request(Fields f) {
        String prompt = f.text("prompt");
        if (prompt == null) {
            prompt = "An astronaut riding a rainbow unicorn"; // cog-sdxl's default
        }
        Integer outputs = f.integer("num_outputs", 1, 4);
        String scheduler = f.text("scheduler");
        if (scheduler != null && !SCHEDULERS.contains(scheduler)) {
            throw f.error("scheduler", "'" + scheduler + "' is not one of " + SCHEDULERS);
        }
        f.integer("num_inference_steps", 1, 500);
        f.number("guidance_scale", 1, 50);
        Double strength = f.number("prompt_strength", 0, 1);
        Double fraction = f.number("high_noise_frac", 0, 1);
        Integer refineSteps = f.integer("refine_steps", 1, 500);
        Double loraScale = f.number("lora_scale", 0, 1);
        String weights = f.text("replicate_weights");
        f.bool("disable_safety_checker");
        Boolean watermark = f.bool("apply_watermark");
        String refine = f.text("refine");
        ImageInput image = f.image("image");
        ImageInput mask = f.image("mask");
        if (mask != null && image == null) {
            throw f.error("mask", "given without an image to inpaint");
        }
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt).steps(50).guidanceScale(7.5)
                    .negativePrompt("").scheduler(scheduler == null ? "K_EULER" : scheduler)
                    .watermark(watermark == null || watermark);
            Seeds.common(f, b, "negative_prompt", "width", "height", "num_inference_steps", "guidance_scale", "seed");
            if (outputs != null) {
                b.samples(outputs);
            }
            if (weights != null && !weights.isBlank()) {
                // cog-sdxl's fine-tunes: the trainer's LoRA at lora_scale and its embeddings, the
                // trigger word of special_params.json standing for their tokens in the prompt.
                ServedAdapters.FineTune tune;
                try {
                    tune = ServedAdapters.fineTune(weights.strip(), server.pipeline().options().loraDirectory(),
                            loraScale == null ? 0.6 : loraScale, "replicate_weights", f.status());
                } catch (ApiError e) {
                    throw f.error("replicate_weights", e.getMessage());
                }
                b.lora(tune.lora()).embeddings(tune.embeddings());
                f.name("loras", "replicate_weights").name("embeddings", "replicate_weights");
            }
            double s = strength == null ? 0.8 : strength;
            if (image != null && mask != null) {
                b.mode(GenerationMode.inpaint(image, mask).withStrength(s));
            } else if (image != null) {
                b.mode(GenerationMode.imageToImage(image).withStrength(s));
            }
            switch (refine == null ? "no_refiner" : refine) {
                case "no_refiner" -> {
                }
                case "expert_ensemble_refiner" -> b.refiner(Refiner.ensemble()
                        .withHighNoiseFraction(fraction == null ? 0.8 : fraction));
                case "base_image_refiner" -> {
                    Refiner.SecondPass p = Refiner.secondPass();
                    b.refiner(refineSteps == null ? p : p.withSteps(refineSteps));
                }
                default -> throw f.error("refine", "'" + refine + "' is not one of no_refiner, expert_ensemble_refiner,"
                        + " base_image_refiner");
            }
            return b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
    }

    private void status(Exchange ex) {
        Prediction p = predictions.get(ex.ctx.pathParam("id"));
        if (p == null) {
            throw new ApiError(404, null, "no prediction " + ex.ctx.pathParam("id"));
        }
        GenerationResult result = null;
        ApiError error = null;
        if (p.job().result.isDone()) {
            try {
                result = p.job().result.join();
            } catch (RuntimeException e) {
                error = server.queue().cause(p.job(), e.getCause() == null ? e : e.getCause());
            }
        }
        ex.json(200, body(p, result, error));
    }

    private void cancel(Exchange ex) {
        Prediction p = predictions.get(ex.ctx.pathParam("id"));
        if (p == null) {
            throw new ApiError(404, null, "no prediction " + ex.ctx.pathParam("id"));
        }
        p.job().cancel();
        ex.json(200, body(p, null, null).put("status", p.job().result.isDone() ? status(p) : "canceled"));
    }

    private static String status(Prediction p) {
        return p.job().result.isCompletedExceptionally() ? "failed" : "succeeded";
    }

    // Cog's prediction response.
    private ObjectNode body(Prediction p, GenerationResult result, ApiError error) {
        ObjectNode body = Json.object().put("id", p.id());
        body.set("input", p.input());
        body.put("created_at", p.created().toString());
        long started = p.job().startedNanos;
        if (result != null) {
            ArrayNode output = body.putArray("output");
            for (GeneratedImage image : result.images()) {
                output.add("data:image/png;base64," + image.toBase64(OutputFormat.PNG));
            }
            body.put("status", "succeeded").putNull("error");
            body.put("completed_at", Instant.now().toString());
            body.putObject("metrics").put("predict_time", result.total().toNanos() / 1e9);
        } else if (error != null) {
            body.putNull("output");
            body.put("status", error.getMessage().startsWith("cancelled") ? "canceled" : "failed")
                    .put("error", error.getMessage());
            body.put("completed_at", Instant.now().toString());
        } else {
            body.putNull("output");
            body.put("status", started == 0 ? "starting" : "processing").putNull("error");
        }
        body.put("logs", "");
        return body;
    }
}
