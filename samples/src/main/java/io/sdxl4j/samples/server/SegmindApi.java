// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;
import io.sdxl4j.Refiner;

/**
 * Segmind's {@code sdxl-torch}: {@code POST /v1/sdxl-torch} with {@code prompt},
 * {@code negative_prompt}, {@code style} (default {@code base}: none), {@code samples} (1 to 4),
 * {@code scheduler} (default {@code UniPC}), {@code num_inference_steps} (20 to 100, default 25),
 * {@code guidance_scale} (7.5), {@code strength} (0.2; sdxl-torch takes no input image, so it
 * has nothing to act on), {@code high_noise_fraction} (0.8: where the refiner takes over),
 * {@code seed}, {@code img_width}/{@code img_height} (default the model's size, SDXL's 1024),
 * {@code refiner} (the expert-ensemble refiner; needs {@code serve --refiner}) and
 * {@code base64}; answers {@code image/jpeg} bytes, or with {@code "base64": true}
 * {@code {"image":"<base64 JPEG>"}} (and {@code "images"} for several samples). Key:
 * {@code x-api-key: KEY}. Errors: {@code {"error":…,"field":…,"request_id":…}}.
 */
final class SegmindApi implements ClientApi {

    private final Sdxl4jServer server;

    SegmindApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "segmind";
    }

    @Override
    public Auth auth() {
        return Auth.X_API_KEY;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/v1/sdxl-torch", this::run);
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        return Json.object().put("error", error.getMessage()).put("field", error.field).put("request_id", requestId);
    }

    private void run(Exchange ex) {
        Fields f = new Fields(ex.json(400), 400, "").name("steps", "num_inference_steps")
                .name("guidanceScale", "guidance_scale").name("negativePrompt", "negative_prompt")
                .name("samples", "samples").name("scheduler", "scheduler").name("style", "style")
                .name("refiner", "refiner").name("refiner.highNoiseFraction", "high_noise_fraction");
        String prompt = f.text("prompt");
        if (prompt == null || prompt.isBlank()) {
            throw f.error("prompt", "missing or empty");
        }
        Integer samples = f.integer("samples", 1, 4);
        f.integer("num_inference_steps", 20, 100);
        f.number("strength", 0, 1);
        Double fraction = f.number("high_noise_fraction", 0, 1);
        Boolean refiner = f.bool("refiner");
        boolean base64 = Boolean.TRUE.equals(f.bool("base64"));
        String style = f.text("style");
        String scheduler = f.text("scheduler");
        if (!base64 && samples != null && samples > 1) {
            throw f.error("samples", samples + " images need \"base64\": true (the image/jpeg answer holds one)");
        }
        GenerationRequest request;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt).steps(25).guidanceScale(7.5)
                    .scheduler(scheduler == null ? "UniPC" : scheduler);
            Seeds.common(f, b, "negative_prompt", "img_width", "img_height", "num_inference_steps", "guidance_scale",
                    "seed");
            if (samples != null) {
                b.samples(samples);
            }
            if (style != null && !style.equalsIgnoreCase("base")) {
                b.style(style);
            }
            if (Boolean.TRUE.equals(refiner)) {
                b.refiner(Refiner.ensemble().withHighNoiseFraction(fraction == null ? 0.8 : fraction));
            }
            request = b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
        var job = server.queue().submit(name(), ex.requestId, new GenerationQueue.Submission(request, f,
                server.config().timeout().toMillis()));
        GenerationResult result = server.queue().await(job, ex::clientGone);
        if (base64) {
            ObjectNode body = Json.object().put("image", result.image().toBase64(OutputFormat.JPEG));
            if (result.images().size() > 1) {
                ArrayNode images = body.putArray("images");
                for (GeneratedImage image : result.images()) {
                    images.add(image.toBase64(OutputFormat.JPEG));
                }
            }
            ex.json(200, body);
        } else {
            ex.bytes(200, "image/jpeg", result.image().encode(OutputFormat.JPEG));
        }
    }
}
