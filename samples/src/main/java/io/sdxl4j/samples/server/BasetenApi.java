// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;

/**
 * Baseten's SDXL model API: {@code POST /production/predict} (and
 * {@code /environments/production/predict}) with {@code prompt}, {@code negative_prompt},
 * {@code width}, {@code height}, {@code num_inference_steps}, {@code guidance_scale},
 * {@code seed}; answers {@code {"status":"success","data":"<one base64 PNG>","time":…}}, which
 * Baseten's client base64-decodes into the image. Defaults: the model's size, diffusers' 50 steps
 * and guidance 5.0. Key: {@code Authorization: Api-Key KEY}. Errors:
 * {@code {"status":"error","error":…,"field":…,"request_id":…}}.
 */
final class BasetenApi implements ClientApi {

    private final Sdxl4jServer server;

    BasetenApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "baseten";
    }

    @Override
    public Auth auth() {
        return Auth.API_KEY;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/production/predict", this::predict);
        routes.post("/environments/production/predict", this::predict);
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        ObjectNode body = Json.object().put("status", "error").put("error", error.getMessage());
        return body.put("field", error.field).put("request_id", requestId);
    }

    private void predict(Exchange ex) {
        Fields f = new Fields(ex.json(400), 400, "").name("steps", "num_inference_steps")
                .name("guidanceScale", "guidance_scale").name("negativePrompt", "negative_prompt");
        String prompt = f.text("prompt");
        if (prompt == null || prompt.isBlank()) {
            throw f.error("prompt", "missing or empty");
        }
        GenerationRequest request;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt).steps(50).guidanceScale(5.0);
            Seeds.common(f, b, "negative_prompt", "width", "height", "num_inference_steps", "guidance_scale", "seed");
            request = b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
        var job = server.queue().submit(name(), ex.requestId, new GenerationQueue.Submission(request, f,
                server.config().timeout().toMillis()));
        GenerationResult result = server.queue().await(job, ex::clientGone);
        ex.json(200, Json.object().put("status", "success").put("data", result.image().toBase64(OutputFormat.PNG))
                .put("time", result.total().toNanos() / 1e9));
    }
}
