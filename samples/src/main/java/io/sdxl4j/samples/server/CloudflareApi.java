// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.ImageInput;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;

/**
 * Cloudflare Workers AI's REST API for {@code @cf/stabilityai/stable-diffusion-xl-base-1.0}:
 * {@code POST /client/v4/accounts/{account}/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0}
 * with {@code prompt} (required), {@code negative_prompt}, {@code height}/{@code width} (256 to
 * 2048; default the model's size), {@code image} (an array of 0–255 integers: the file's bytes) or
 * {@code image_b64}, {@code mask} (an array of 0–255 integers; white repaints), {@code num_steps}
 * (default 20, at most 20), {@code strength} (default 1), {@code guidance} (7.5), {@code seed};
 * answers {@code image/png}. Key: {@code Authorization: Bearer KEY}. Errors in Cloudflare's
 * envelope: {@code {"success":false,"errors":[{"code":…,"message":…,"field":…}],"messages":[],
 * "result":null,"request_id":…}}.
 */
final class CloudflareApi implements ClientApi {

    private final Sdxl4jServer server;

    CloudflareApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "cloudflare";
    }

    @Override
    public Auth auth() {
        return Auth.BEARER;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/client/v4/accounts/{account}/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0", this::run);
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        ObjectNode body = Json.object().put("success", false);
        int code = switch (error.status) {
            case 401 -> 10000;
            case 400, 413, 422 -> 5006;
            case 429, 503 -> 3040;
            default -> 5000;
        };
        body.putArray("errors").addObject().put("code", code).put("message", error.getMessage())
                .put("field", error.field);
        body.putArray("messages");
        body.putNull("result");
        return body.put("request_id", requestId);
    }

    private void run(Exchange ex) {
        Fields f = new Fields(ex.json(400), 400, "").name("steps", "num_steps").name("guidanceScale", "guidance")
                .name("negativePrompt", "negative_prompt").name("strength", "strength");
        String prompt = f.text("prompt");
        if (prompt == null || prompt.isEmpty()) {
            throw f.error("prompt", "missing or empty");
        }
        f.integer("width", 256, 2048);
        f.integer("height", 256, 2048);
        f.integer("num_steps", 1, 20);
        Double strength = f.number("strength", 0, 1);
        if (f.has("image") && f.has("image_b64")) {
            throw f.error("image_b64", "given with image: send one of them");
        }
        ImageInput image = f.has("image") ? Seeds.byteArray(f, "image") : f.image("image_b64");
        f.name("image", f.has("image") ? "image" : "image_b64");
        ImageInput mask = Seeds.byteArray(f, "mask");
        if (mask != null && image == null) {
            throw f.error("mask", "given without an image to inpaint");
        }
        GenerationRequest request;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt).steps(20).guidanceScale(7.5);
            Seeds.common(f, b, "negative_prompt", "width", "height", "num_steps", "guidance", "seed");
            double s = strength == null ? 1.0 : strength;
            if (image != null && mask != null) {
                b.mode(GenerationMode.inpaint(image, mask).withStrength(s));
            } else if (image != null) {
                b.mode(GenerationMode.imageToImage(image).withStrength(s));
            }
            request = b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
        var job = server.queue().submit(name(), ex.requestId, new GenerationQueue.Submission(request, f,
                server.config().timeout().toMillis()));
        GenerationResult result = server.queue().await(job, ex::clientGone);
        ex.bytes(200, "image/png", result.image().encode(OutputFormat.PNG));
    }
}
