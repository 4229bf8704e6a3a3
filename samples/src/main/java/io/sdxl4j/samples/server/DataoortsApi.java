// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;

/**
 * Dataoorts' serverless API: {@code POST /api/v1} with
 * {@code {"model":"stabilityai/stable-diffusion-xl-base-1.0","data":{…}}}: {@code prompt}
 * (required, at least 2 characters), {@code negative_prompt}, {@code height}, {@code width}
 * (256 to 2048; default the model's size), {@code num_steps} (default 20, at most 20),
 * {@code guidance} (7.5), {@code seed}; answers the PNG's bytes, which Dataoorts' client writes to
 * {@code output.png}. Key: {@code Authorization: Bearer KEY}. Errors:
 * {@code {"error":…,"field":"data.width","request_id":…}}.
 */
final class DataoortsApi implements ClientApi {

    static final String MODEL = "stabilityai/stable-diffusion-xl-base-1.0";

    private final Sdxl4jServer server;

    DataoortsApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "dataoorts";
    }

    @Override
    public Auth auth() {
        return Auth.BEARER;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/api/v1", this::run);
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        return Json.object().put("error", error.getMessage()).put("field", error.field).put("request_id", requestId);
    }

    private void run(Exchange ex) {
        ObjectNode envelope = ex.json(400);
        Fields top = new Fields(envelope, 400, "");
        String model = top.text("model");
        if (model == null) {
            throw top.error("model", "missing: this endpoint serves " + MODEL);
        }
        if (!model.equals(MODEL)) {
            throw new ApiError(404, "model", "'" + model + "' is not served here; this endpoint serves " + MODEL);
        }
        JsonNode data = envelope.get("data");
        if (data == null || !data.isObject()) {
            throw top.error("data", "expected an object with the generation's fields");
        }
        Fields f = new Fields(data, 400, "data.").name("steps", "num_steps").name("guidanceScale", "guidance")
                .name("negativePrompt", "negative_prompt");
        String prompt = f.text("prompt");
        if (prompt == null || prompt.strip().length() < 2) {
            throw f.error("prompt", "missing or shorter than 2 characters");
        }
        f.integer("width", 256, 2048);
        f.integer("height", 256, 2048);
        f.integer("num_steps", 1, 20);
        GenerationRequest request;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt).steps(20).guidanceScale(7.5);
            Seeds.common(f, b, "negative_prompt", "width", "height", "num_steps", "guidance", "seed");
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
