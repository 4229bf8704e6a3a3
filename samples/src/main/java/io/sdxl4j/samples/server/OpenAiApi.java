// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.ImageInput;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.OutputFormat;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * The OpenAI Images API: {@code POST /v1/images/generations} (JSON) and {@code POST /v1/images/edits}
 * (multipart: {@code image} or {@code image[]}, {@code mask} — a PNG whose fully transparent
 * pixels are the area to repaint; without one, the image's own transparency — {@code prompt},
 * {@code n} (1 to 10), {@code size} ({@code WIDTHxHEIGHT} or {@code auto}: the model's size, or
 * the image's for edits), {@code response_format} ({@code b64_json}, the default here: there is no
 * image hosting for {@code url}), {@code output_format} ({@code png}, {@code jpeg}) with
 * {@code output_compression}, and {@code model}, {@code quality}, {@code style}, {@code user},
 * {@code moderation}, {@code background} accepted (a transparent background is refused)). Answers
 * {@code {"created":…,"data":[{"b64_json":…}],"output_format":…,"size":…}}. Key:
 * {@code Authorization: Bearer KEY}. Errors: OpenAI's
 * {@code {"error":{"message":…,"type":"invalid_request_error","param":…,"code":…}}}, the request id
 * also in {@code x-request-id}.
 */
final class OpenAiApi implements ClientApi {

    private final Sdxl4jServer server;

    OpenAiApi(Sdxl4jServer server) {
        this.server = server;
    }

    @Override
    public String name() {
        return "openai";
    }

    @Override
    public Auth auth() {
        return Auth.BEARER;
    }

    @Override
    public void routes(Sdxl4jServer.Routes routes) {
        routes.post("/v1/images/generations", this::generations);
        routes.post("/v1/images/edits", this::edits);
    }

    @Override
    public ObjectNode errorBody(ApiError error, String requestId) {
        ObjectNode body = Json.object();
        String type = switch (error.status) {
            case 401 -> "authentication_error";
            case 429 -> "rate_limit_error";
            case 500, 503 -> "server_error";
            default -> "invalid_request_error";
        };
        body.putObject("error").put("message", error.getMessage()).put("type", type).put("param", error.field)
                .put("code", error.status == 401 ? "invalid_api_key" : null).put("request_id", requestId);
        return body;
    }

    /** The options an OpenAI request shares between generations and edits. */
    private record Options(OutputFormat format, float quality, String sizeText) {
    }

    private void generations(Exchange ex) {
        Fields f = fields(new Fields(ex.json(400), 400, ""));
        String prompt = f.text("prompt");
        if (prompt == null || prompt.isBlank()) {
            throw f.error("prompt", "missing or empty");
        }
        Options options = options(f);
        GenerationRequest request;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt);
            size(f, b, f.text("size"));
            Integer n = f.integer("n", 1, 10);
            if (n != null) {
                b.samples(n);
            }
            request = b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
        answer(ex, f, request, UnaryOperator.identity(), options);
    }

    private void edits(Exchange ex) throws IOException {
        long max = server.config().maxBodyBytes();
        if (ex.ctx.req().getContentLengthLong() > max) {
            ex.ctx.header("Connection", "close");
            throw new ApiError(413, "body", "larger than the limit of " + max + " bytes (--max-body)");
        }
        if (!ex.ctx.isMultipartFormData()) {
            throw new ApiError(400, "body", "expected multipart/form-data with image, mask and prompt");
        }
        ObjectNode form = Json.object();
        List<byte[]> images = new ArrayList<>();
        byte[] maskBytes = null;
        try {
            // Jetty's own multipart parser, within the body limit; parts with or without a file name.
            ex.ctx.req().setAttribute("org.eclipse.jetty.multipartConfig", new jakarta.servlet.MultipartConfigElement(
                    System.getProperty("java.io.tmpdir"), max, max, (int) Math.min(Integer.MAX_VALUE, max)));
            for (jakarta.servlet.http.Part part : ex.ctx.req().getParts()) {
                byte[] bytes;
                try (InputStream in = part.getInputStream()) {
                    bytes = in.readAllBytes();
                } finally {
                    part.delete();
                }
                switch (part.getName()) {
                    case "image", "image[]" -> images.add(bytes);
                    case "mask" -> {
                        if (maskBytes != null) {
                            throw ApiError.bad("mask", "given twice");
                        }
                        maskBytes = bytes;
                    }
                    default -> {
                        if (form.has(part.getName())) {
                            throw ApiError.bad(part.getName(), "given twice");
                        }
                        form.put(part.getName(), new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
                    }
                }
            }
        } catch (IllegalStateException | jakarta.servlet.ServletException e) {
            ex.ctx.header("Connection", "close");
            throw new ApiError(413, "body", "the form is malformed or a part is larger than the limit of " + max
                    + " bytes (--max-body)");
        }
        // Numbers come as form text: typed as the JSON API types them.
        for (String key : List.of("n", "output_compression")) {
            if (form.has(key)) {
                String v = form.get(key).asText();
                if (!v.matches("-?\\d{1,9}")) {
                    throw ApiError.bad(key, "expected an integer, got '" + v + "'");
                }
                form.put(key, Integer.parseInt(v));
            }
        }
        Fields f = fields(new Fields(form, 400, ""));
        String prompt = f.text("prompt");
        if (prompt == null || prompt.isBlank()) {
            throw f.error("prompt", "missing or empty");
        }
        if (images.isEmpty()) {
            throw f.error("image", "missing: send the image to edit as the multipart file 'image'");
        }
        if (images.size() > 1) {
            throw f.error("image[]", images.size() + " images given; this model edits one");
        }
        ImageInput image = upload(f, "image", images.get(0));
        ImageInput mask = maskBytes == null ? image : upload(f, "mask", maskBytes);
        Options options = options(f);
        GenerationRequest request;
        try {
            GenerationRequest.Builder b = GenerationRequest.builder(prompt)
                    .mode(GenerationMode.inpaint(image, mask));
            size(f, b, f.text("size"));
            Integer n = f.integer("n", 1, 10);
            if (n != null) {
                b.samples(n);
            }
            request = b.build();
        } catch (InvalidRequestException e) {
            throw f.invalid(e);
        }
        if (mask.width() != image.width() || mask.height() != image.height()) {
            throw f.error("mask", "is " + mask.width() + "x" + mask.height() + ", the image " + image.width() + "x"
                    + image.height() + ": they must be the same size");
        }
        answer(ex, f, request, Masks.convert(Masks::fromTransparency), options);
    }

    private static ImageInput upload(Fields f, String field, byte[] bytes) {
        try {
            return ImageInput.ofBytes(bytes);
        } catch (InvalidRequestException e) {
            throw f.error(field, e.value().map(v -> v + " ").orElse("") + e.reason());
        }
    }

    private static Fields fields(Fields f) {
        return f.name("samples", "n").name("image", "image").name("mask", "mask");
    }

    private static Options options(Fields f) {
        String responseFormat = f.text("response_format");
        if (responseFormat != null && !responseFormat.equals("b64_json")) {
            throw f.error("response_format", "'" + responseFormat + "': this server answers b64_json only (it hosts no"
                    + " image URLs)");
        }
        String background = f.text("background");
        if (background != null && background.equals("transparent")) {
            throw f.error("background", "transparent backgrounds are not supported (SDXL draws opaque images)");
        }
        String output = f.text("output_format");
        OutputFormat format = OutputFormat.PNG;
        if (output != null) {
            format = switch (output.toLowerCase(Locale.ROOT)) {
                case "png" -> OutputFormat.PNG;
                case "jpeg", "jpg" -> OutputFormat.JPEG;
                default -> throw f.error("output_format", "'" + output + "' is not png or jpeg");
            };
        }
        Integer compression = f.integer("output_compression", 0, 100);
        float quality = compression == null ? 0.95f : Math.max(0.01f, 1 - compression / 100f);
        for (String accepted : List.of("model", "quality", "style", "user", "moderation")) {
            f.text(accepted); // accepted, typed; they choose nothing here
        }
        return new Options(format, quality, f.text("size"));
    }

    private static void size(Fields f, GenerationRequest.Builder b, String size) {
        if (size == null || size.equals("auto")) {
            return;
        }
        var m = java.util.regex.Pattern.compile("(\\d{1,5})x(\\d{1,5})").matcher(size);
        if (!m.matches()) {
            throw f.error("size", "'" + size + "' is not WIDTHxHEIGHT or auto");
        }
        f.name("width", "size").name("height", "size");
        b.width(Integer.parseInt(m.group(1))).height(Integer.parseInt(m.group(2)));
    }

    private void answer(Exchange ex, Fields f, GenerationRequest request, UnaryOperator<GenerationRequest> finish,
                        Options options) {
        var queue = server.queue();
        var job = queue.submit(name(), ex.requestId, new GenerationQueue.Submission(request, finish, f,
                server.config().timeout().toMillis(), null));
        GenerationResult result = queue.await(job, ex::clientGone);
        ObjectNode body = Json.object().put("created", System.currentTimeMillis() / 1000);
        ArrayNode data = body.putArray("data");
        for (GeneratedImage image : result.images()) {
            byte[] bytes = options.format() == OutputFormat.PNG ? image.toPng() : image.toJpeg(options.quality());
            data.addObject().put("b64_json", Base64.getEncoder().encodeToString(bytes));
        }
        body.put("output_format", options.format() == OutputFormat.PNG ? "png" : "jpeg");
        body.put("size", result.width() + "x" + result.height());
        body.put("background", "opaque");
        ex.json(200, body);
    }
}
