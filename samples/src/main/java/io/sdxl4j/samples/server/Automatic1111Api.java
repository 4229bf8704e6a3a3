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
import io.sdxl4j.PromptMode;
import io.sdxl4j.Refiner;
import io.sdxl4j.SchedulerType;
import io.sdxl4j.StylePreset;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * AUTOMATIC1111's web UI API ({@code modules/api/models.py}): {@code POST /sdapi/v1/txt2img} and
 * {@code /sdapi/v1/img2img} ({@code init_images}, {@code mask} (white repaints),
 * {@code denoising_strength} (0.75), {@code mask_blur} (4), {@code inpainting_mask_invert}), with
 * A1111's names and defaults ({@code steps} 50, {@code cfg_scale} 7, 512×512, {@code seed} -1,
 * {@code sampler_name} and {@code scheduler}, {@code batch_size} × {@code n_iter} images,
 * {@code styles} as style presets, {@code override_settings} with {@code sd_model_checkpoint} and
 * {@code CLIP_stop_at_last_layers} = clip skip + 1, {@code refiner_checkpoint} and
 * {@code refiner_switch_at}); answered {@code {"images":[…],"parameters":{…},"info":"<JSON>"}}.
 * Discovery as Open WebUI uses it: {@code GET}/{@code POST /sdapi/v1/options}
 * ({@code sd_model_checkpoint}, {@code CLIP_stop_at_last_layers}), {@code /sd-models},
 * {@code /samplers}, {@code /schedulers}, {@code /loras} (the server's LoRA folder, which prompts
 * use as A1111's {@code <lora:name:weight>} tags), {@code /progress}, and {@code POST /sdapi/v1/interrupt}. Key: HTTP basic with the key
 * as the password (A1111's {@code --api-auth}; Open WebUI's "API Auth" setting {@code user:KEY}),
 * or a bearer token. Errors: FastAPI's {@code {"detail":[{"loc":["body",field],"msg":…}]}} (422)
 * for fields, {@code {"error":…,"detail":…}} otherwise.
 */
final class Automatic1111Api implements ClientApi {

    private final Sdxl4jServer server;
    /** {@code CLIP_stop_at_last_layers} set through {@code /options}: the default of requests without one. */
    private volatile int clipStop = 1;

    Automatic1111Api(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "automatic1111";
    }

    @Override
    public Auth auth() {
        return Auth.BASIC;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/sdapi/v1/txt2img", ex -> generate(ex, false));
        routes.post("/sdapi/v1/img2img", ex -> generate(ex, true));
        routes.get("/sdapi/v1/options", ex -> ex.json(200, options()));
        routes.post("/sdapi/v1/options", this::setOptions);
        routes.get("/sdapi/v1/sd-models", ex -> {
            ArrayNode models = Json.OUT.createArrayNode();
            String name = server.pipeline().model().name();
            models.addObject().put("title", name).put("model_name", name).putNull("hash").putNull("sha256")
                    .put("filename", name).putNull("config");
            ex.json(200, models);
        });
        routes.get("/sdapi/v1/samplers", ex -> {
            ArrayNode samplers = Json.OUT.createArrayNode();
            for (SchedulerType t : SchedulerType.values()) {
                ObjectNode s = samplers.addObject().put("name", t.samplerName());
                ArrayNode aliases = s.putArray("aliases");
                t.names().forEach(aliases::add);
                s.putObject("options");
            }
            ex.json(200, samplers);
        });
        routes.get("/sdapi/v1/schedulers", ex -> {
            ArrayNode schedulers = Json.OUT.createArrayNode();
            for (String[] s : new String[][] {{"automatic", "Automatic"}, {"karras", "Karras"}}) {
                schedulers.addObject().put("name", s[0]).put("label", s[1]).putNull("aliases").put("default_rho", -1)
                        .put("need_inner_model", false);
            }
            ex.json(200, schedulers);
        });
        routes.get("/sdapi/v1/loras", ex -> {
            // A1111's list (extensions-builtin/Lora): the path is the file's name in the LoRA folder,
            // not a path of this server's disk.
            var list = Json.OUT.createArrayNode();
            for (String name : ServedAdapters.names(server.pipeline().options().loraDirectory())) {
                var lora = list.addObject().put("name", name).put("alias", name).put("path", name + ".safetensors");
                lora.putObject("metadata");
            }
            ex.json(200, list);
        });
        routes.get("/sdapi/v1/progress", this::progress);
        routes.post("/sdapi/v1/interrupt", ex -> {
            var job = server.queue().current();
            if (job != null) {
                job.cancel();
            }
            ex.json(200, Json.object());
        });
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        ObjectNode body = Json.object();
        if (error.field != null && (error.status == 422 || error.status == 400 || error.status == 413)) {
            ObjectNode d = body.putArray("detail").addObject();
            d.putArray("loc").add("body").add(error.field);
            d.put("msg", error.getMessage()).put("type", "value_error");
        } else {
            body.put("error", switch (error.status) {
                case 401 -> "Unauthorized";
                case 404 -> "NotFound";
                case 429 -> "TooManyRequests";
                case 503 -> "ServiceUnavailable";
                default -> "HTTPException";
            }).put("detail", error.getMessage()).put("body", "").put("errors", "");
        }
        return body.put("request_id", requestId);
    }

    private ObjectNode options() {
        return Json.object().put("sd_model_checkpoint", server.pipeline().model().name())
                .put("CLIP_stop_at_last_layers", clipStop).putNull("sd_checkpoint_hash")
                .putNull("sd_vae").put("samples_format", "png");
    }

    private void setOptions(Exchange ex) {
        ObjectNode body = ex.json(422);
        Fields f = new Fields(body, 422, "");
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            switch (key) {
                case "sd_model_checkpoint" -> checkpoint(f, key);
                case "CLIP_stop_at_last_layers" -> f.integer(key, 1, 12);
                default -> throw f.error(key, "is not an option this server has (it has sd_model_checkpoint and"
                        + " CLIP_stop_at_last_layers)");
            }
        }
        Integer stop = f.integer("CLIP_stop_at_last_layers");
        if (stop != null) {
            clipStop = stop;
        }
        ex.json(200, Json.OUT.nullNode());
    }

    private void checkpoint(Fields f, String key) {
        String title = f.text(key);
        String loaded = server.pipeline().model().name();
        // A1111 titles may carry a hash: "name [abc123]".
        if (title != null && !title.equals(loaded) && !title.startsWith(loaded + " [")) {
            throw f.error(key, "'" + title + "' is not loaded; this server serves '" + loaded + "'");
        }
    }

    private void progress(Exchange ex) {
        var queue = server.queue();
        var job = queue.current();
        ObjectNode body = Json.object();
        double progress = job == null || job.total == 0 ? 0 : (double) job.step / job.total;
        body.put("progress", progress);
        double elapsed = job == null || job.startedNanos == 0 ? 0 : (System.nanoTime() - job.startedNanos) / 1e9;
        body.put("eta_relative", progress > 0 ? elapsed / progress - elapsed : 0);
        ObjectNode state = body.putObject("state");
        state.put("skipped", false).put("interrupted", job != null && job.cancelled)
                .put("job", job == null ? "" : job.requestId).put("job_count", queue.queued() + (job == null ? 0 : 1))
                .put("job_timestamp", "0").put("job_no", 0)
                .put("sampling_step", job == null ? 0 : job.step).put("sampling_steps", job == null ? 0 : job.total);
        body.putNull("current_image");
        body.putNull("textinfo");
        ex.json(200, body);
    }

    private void generate(Exchange ex, boolean img2img) {
        ObjectNode body = ex.json(422);
        Fields f = new Fields(body, 422, "").name("steps", "steps").name("guidanceScale", "cfg_scale")
                .name("negativePrompt", "negative_prompt").name("samples", "batch_size").name("scheduler", "sampler_name")
                .name("strength", "denoising_strength").name("maskBlur", "mask_blur").name("clipSkip",
                        "override_settings.CLIP_stop_at_last_layers").name("image", "init_images")
                .name("mask", "mask").name("refiner", "refiner_checkpoint")
                .name("refiner.highNoiseFraction", "refiner_switch_at").name("style", "styles");
        if (Boolean.TRUE.equals(f.bool("enable_hr"))) {
            throw f.error("enable_hr", "hires fix is not supported: ask for the final size directly");
        }
        JsonNode scripts = f.node("alwayson_scripts");
        if (scripts != null && !(scripts.isObject() && scripts.isEmpty())) {
            throw f.error("alwayson_scripts", "scripts are not supported");
        }
        String prompt = f.text("prompt");
        Integer batch = f.integer("batch_size", 1, GenerationRequest.MAX_SAMPLES);
        Integer iterations = f.integer("n_iter", 1, GenerationRequest.MAX_SAMPLES);
        int samples = (batch == null ? 1 : batch) * (iterations == null ? 1 : iterations);
        if (samples > GenerationRequest.MAX_SAMPLES) {
            throw f.error("n_iter", "batch_size × n_iter = " + samples + " images, more than "
                    + GenerationRequest.MAX_SAMPLES);
        }
        String sampler = f.text("sampler_name");
        String scheduler = f.text("scheduler");
        int clipSkip = clipSkip(f);
        Double strength = f.number("denoising_strength", 0, 1);
        Integer maskBlur = f.integer("mask_blur", 0, 64);
        Integer invert = f.integer("inpainting_mask_invert", 0, 1);
        String refiner = f.text("refiner_checkpoint");
        Double switchAt = f.number("refiner_switch_at", 0, 1);
        GenerationRequest request;
        ImageInput mask = null;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt == null ? "" : prompt).steps(50)
                    .guidanceScale(7).width(512).height(512).samples(samples).clipSkip(clipSkip)
                    // A1111's clients write its prompt syntax: (word:1.2), BREAK, <lora:name:weight>.
                    .promptMode(PromptMode.A1111)
                    .negativePrompt(text(f, "negative_prompt"));
            Seeds.common(f, b, null, "width", "height", "steps", "cfg_scale", "seed");
            if (sampler != null) {
                b.scheduler(schedulerName(sampler, scheduler));
            }
            styles(f, b);
            if (refiner != null && !refiner.isEmpty() && !refiner.equalsIgnoreCase("None")) {
                b.refiner(Refiner.ensemble().withHighNoiseFraction(switchAt == null ? 0.8 : switchAt));
            }
            if (img2img) {
                JsonNode inits = f.node("init_images");
                if (inits == null || !inits.isArray() || inits.isEmpty() || !inits.get(0).isTextual()) {
                    throw f.error("init_images", "expected a list with one base64 image");
                }
                if (inits.size() > 1) {
                    throw f.error("init_images", inits.size() + " images given; one is used per request here");
                }
                ImageInput image = f.image("init_images", inits.get(0).asText());
                mask = f.image("mask");
                double s = strength == null ? 0.75 : strength;
                if (mask != null) {
                    b.mode(GenerationMode.inpaint(image, mask).withStrength(s)
                            .withMaskBlur(maskBlur == null ? 4 : maskBlur));
                } else {
                    b.mode(GenerationMode.imageToImage(image).withStrength(s));
                }
            }
            request = b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
        UnaryOperator<GenerationRequest> finish = mask != null && invert != null && invert == 1
                ? Masks.convert(Masks::inverted) : UnaryOperator.identity();
        var queue = server.queue();
        var job = queue.submit(name(), ex.requestId, new GenerationQueue.Submission(request, finish, f,
                server.config().timeout().toMillis(), null));
        GenerationResult result = queue.await(job, ex::clientGone);
        ObjectNode answer = Json.object();
        ArrayNode images = answer.putArray("images");
        for (GeneratedImage image : result.images()) {
            images.add(image.toBase64(OutputFormat.PNG));
        }
        ObjectNode parameters = body.deepCopy();
        if (img2img) {
            parameters.putNull("init_images"); // A1111 echoes the request; the images are not sent back
            parameters.putNull("mask");
        }
        answer.set("parameters", parameters);
        answer.put("info", Json.OUT.valueToTree(info(result, request, clipSkip)).toString());
        ex.json(200, answer);
    }

    private static String text(Fields f, String key) {
        String v = f.text(key);
        return v == null ? "" : v;
    }

    private int clipSkip(Fields f) {
        JsonNode override = f.node("override_settings");
        if (override == null) {
            return clipStop - 1;
        }
        if (!override.isObject()) {
            throw f.error("override_settings", "expected an object");
        }
        Fields o = new Fields(override, 422, "override_settings.");
        if (o.has("sd_model_checkpoint")) {
            String title = o.text("sd_model_checkpoint");
            String loaded = server.pipeline().model().name();
            if (!title.equals(loaded) && !title.startsWith(loaded + " [")) {
                throw o.error("sd_model_checkpoint", "'" + title + "' is not loaded; this server serves '" + loaded + "'");
            }
        }
        Integer stop = o.integer("CLIP_stop_at_last_layers", 1, 12);
        return stop == null ? clipStop - 1 : stop - 1;
    }

    // A1111 1.9+ sends the schedule apart ("DPM++ 2M" with scheduler "karras"); earlier ones in the name.
    private static String schedulerName(String sampler, String scheduler) {
        if (scheduler == null || scheduler.equalsIgnoreCase("automatic") || sampler.toLowerCase(Locale.ROOT)
                .contains("karras")) {
            return sampler;
        }
        if (scheduler.equalsIgnoreCase("karras")) {
            return sampler + " Karras";
        }
        throw new InvalidRequestException("scheduler", scheduler, "is not a schedule this server has (automatic,"
                + " karras)");
    }

    private static void styles(Fields f, GenerationRequest.Builder b) {
        JsonNode styles = f.node("styles");
        if (styles == null) {
            return;
        }
        if (!styles.isArray() || styles.size() > 1 || styles.size() == 1 && !styles.get(0).isTextual()) {
            throw f.error("styles", "expected a list of at most one style name (" + StylePreset.names() + ")");
        }
        if (styles.size() == 1) {
            b.style(styles.get(0).asText());
        }
    }

    private Map<String, Object> info(GenerationResult result, GenerationRequest request, int clipSkip) {
        Map<String, Object> info = new java.util.LinkedHashMap<>();
        int n = result.images().size();
        info.put("prompt", request.prompt());
        info.put("all_prompts", java.util.Collections.nCopies(n, request.prompt()));
        String negative = request.negativePrompt() instanceof io.sdxl4j.NegativePrompt.Text t ? t.text() : "";
        info.put("negative_prompt", negative);
        info.put("all_negative_prompts", java.util.Collections.nCopies(n, negative));
        info.put("seed", result.seed());
        info.put("all_seeds", java.util.Collections.nCopies(n, result.seed()));
        info.put("subseed", -1);
        info.put("all_subseeds", java.util.Collections.nCopies(n, -1));
        info.put("subseed_strength", 0);
        info.put("width", result.width());
        info.put("height", result.height());
        info.put("sampler_name", result.scheduler().samplerName());
        info.put("cfg_scale", request.guidanceScale());
        info.put("steps", result.steps());
        info.put("batch_size", n);
        info.put("restore_faces", false);
        info.put("sd_model_name", server.pipeline().model().name());
        info.put("sd_model_hash", null);
        info.put("clip_skip", clipSkip + 1);
        info.put("denoising_strength", switch (request.mode()) {
            case GenerationMode.TextToImage t -> (Object) null;
            case GenerationMode.ImageToImage i -> i.strength();
            case GenerationMode.Inpaint i -> i.strength();
        });
        info.put("infotexts", result.images().stream().map(GeneratedImage::parameters).toList());
        info.put("styles", request.style().map(s -> java.util.List.of(s.name())).orElse(java.util.List.of()));
        info.put("job_timestamp", java.time.format.DateTimeFormatter.ofPattern("yyyyMMddHHmmss")
                .format(java.time.LocalDateTime.now()));
        info.put("is_using_inpainting_conditioning", request.mode() instanceof GenerationMode.Inpaint);
        return info;
    }
}
