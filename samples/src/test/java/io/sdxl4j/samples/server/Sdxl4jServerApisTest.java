// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImageGenerateParams;
import com.openai.models.images.ImagesResponse;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.awt.image.BufferedImage;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each client API with its own documented request, sent as its page shows it (only the base URL
 * changed), read back the way that client's code reads the answer. The tiny model's default size
 * is 64×64 (its VAE halves each side); a documented request that names SDXL's sizes (1024², 1248×832)
 * is beyond the tiny model's memory budget, so it is sent verbatim and must be refused with 413
 * naming the size in that API's error shape, then sent again with only the size at 64.
 */
class Sdxl4jServerApisTest {

    static Sdxl4jServer server;
    static Http http;
    static final CountDownLatch asyncDone = new CountDownLatch(1);
    static volatile String asyncRequest;

    @BeforeAll
    static void start() throws Exception {
        Path model = BuiltInModel.extract();
        Path refiner = Path.of(System.getProperty("sdxl4j.conformance.dir"), "models", "sdxl-tiny-refiner");
        server = Sdxl4jServer.start(() -> SdxlPipeline.load(model, refiner, ServerFixture.options()),
                Sdxl4jServer.Config.defaults().withPort(0).withMaxMemoryBytes(ServerFixture.BUDGET)
                        .withListener(new ServerListener() {
                            @Override
                            public void onFinish(String requestId, String outcome) {
                                if (requestId.equals(asyncRequest)) {
                                    asyncDone.countDown();
                                }
                            }
                        }));
        server.awaitReady(Duration.ofMinutes(2));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void basetenVerbatimIsRefusedNamingItsSizeThenItsClientDecodesOneBase64Png() throws Exception {
        String documented = "{\"prompt\":\"A tree in a field under the night sky\",\"negative_prompt\":\"blurry\","
                + "\"width\":1248,\"height\":832,\"num_inference_steps\":35,\"guidance_scale\":14}";
        HttpResponse<byte[]> refused = http.post("/production/predict", documented);
        JsonNode error = Http.json(refused);
        assertEquals(413, refused.statusCode(), error::toString);
        assertEquals("error", error.get("status").asText());
        assertEquals("width", error.get("field").asText());
        assertTrue(error.get("error").asText().contains("1248x832"), error::toString);
        assertFalse(error.get("request_id").asText().isBlank());

        HttpResponse<byte[]> r = http.post("/production/predict", documented.replace("1248", "64").replace("832", "64"));
        JsonNode body = Http.json(r);
        assertEquals(200, r.statusCode(), body::toString);
        assertEquals("success", body.get("status").asText());
        // Baseten's client: base64.b64decode(res["data"]), a data-URL preamble stripped if present.
        String data = body.get("data").asText();
        assertTrue(body.get("data").isTextual(), "one string, not a list");
        BufferedImage image = Http.image(Base64.getDecoder().decode(data.replaceFirst("^data:image/png;base64,", "")));
        assertEquals(64, image.getWidth());
        assertTrue(body.get("time").asDouble() > 0);
    }

    @Test
    void dataoortsVerbatimAnswersThePngBytesItsClientWritesToOutputPng() throws Exception {
        HttpResponse<byte[]> r = http.post("/api/v1", "{\"model\":\"stabilityai/stable-diffusion-xl-base-1.0\","
                + "\"data\":{\"prompt\":\"futuristic spacecraft\"}}", "Authorization", "Bearer unused");
        assertEquals(200, r.statusCode(), () -> Http.text(r));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(64, Http.image(r.body()).getWidth(), "the model's default size");
        HttpResponse<byte[]> small = http.post("/api/v1", "{\"model\":\"stabilityai/stable-diffusion-xl-base-1.0\","
                + "\"data\":{\"prompt\":\"futuristic spacecraft\",\"width\":128}}");
        assertEquals(400, small.statusCode());
        assertEquals("data.width", Http.json(small).get("field").asText(), "Dataoorts' minimum is 256");
    }

    @Test
    void cloudflareVerbatimAnswersPngAndTakesTheImageAsAnArrayOfBytes() throws Exception {
        String path = "/client/v4/accounts/0123abc/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0";
        HttpResponse<byte[]> r = http.post(path, "{ \"prompt\": \"cyberpunk cat\" }");
        assertEquals(200, r.statusCode(), () -> Http.text(r));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(64, Http.image(r.body()).getWidth());

        // img2img with the file's bytes as an array of 0-255 integers, as the Workers AI client sends them.
        byte[] png = Http.png(Http.picture(48, 32));
        ArrayNode bytes = Http.JSON.createArrayNode();
        for (byte b : png) {
            bytes.add(b & 0xFF);
        }
        ObjectNode img2img = Http.JSON.createObjectNode().put("prompt", "cyberpunk cat").put("strength", 0.5)
                .put("num_steps", 4);
        img2img.set("image", bytes);
        HttpResponse<byte[]> i = http.post(path, img2img.toString());
        assertEquals(200, i.statusCode(), () -> Http.text(i));
        BufferedImage out = Http.image(i.body());
        assertEquals(48, out.getWidth(), "img2img takes the image's size");
        assertEquals(32, out.getHeight());

        HttpResponse<byte[]> bad = http.post(path, "{\"prompt\":\"x\",\"image\":[1,2,300]}");
        JsonNode error = Http.json(bad);
        assertEquals(400, bad.statusCode());
        assertFalse(error.get("success").asBoolean());
        assertEquals("image", error.get("errors").get(0).get("field").asText());
    }

    @Test
    void segmindVerbatimIsRefusedNamingImgWidthThenAnswersJpeg() throws Exception {
        String documented = "{\"prompt\": \"cinematic film still, 4k, realistic, ((cinematic photo:1.3)) of panda"
                + " wearing a blue spacesuit, sitting in a bar, Fujifilm XT3, long shot, ((low light:1.4)), ((looking"
                + " straight at the camera:1.3)), upper body shot, somber, shallow depth of field, vignette, highly"
                + " detailed, high budget Hollywood movie, bokeh, cinemascope, moody, epic, gorgeous, film grain,"
                + " grainy\", \"negative_prompt\": \"ugly, tiling, poorly drawn hands, poorly drawn feet, poorly drawn"
                + " face, out of frame, extra limbs, disfigured, deformed, body out of frame, blurry, bad anatomy,"
                + " blurred, watermark, grainy, signature, cut off, draft\", \"style\": \"base\", \"samples\": 1,"
                + " \"scheduler\": \"UniPC\", \"num_inference_steps\": 25, \"guidance_scale\": 8, \"strength\": 0.2,"
                + " \"high_noise_fraction\": 0.8, \"seed\": 468685, \"img_width\": 1024, \"img_height\": 1024,"
                + " \"refiner\": true, \"base64\": false}";
        HttpResponse<byte[]> refused = http.post("/v1/sdxl-torch", documented, "x-api-key", "unused");
        assertEquals(413, refused.statusCode(), () -> Http.text(refused));
        assertEquals("img_width", Http.json(refused).get("field").asText());

        HttpResponse<byte[]> r = http.post("/v1/sdxl-torch", documented.replace("1024", "64"));
        assertEquals(200, r.statusCode(), () -> Http.text(r));
        assertEquals("image/jpeg", r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals((byte) 0xFF, r.body()[0]);
        assertEquals(64, Http.image(r.body()).getWidth());
    }

    @Test
    void replicateVerbatimAnswersAPredictionWithDataUrlsAndRespondAsyncAnswers202() throws Exception {
        HttpResponse<byte[]> r = http.post("/predictions", "{\"input\":{\"prompt\":\"An astronaut riding a rainbow"
                + " unicorn\"}}");
        JsonNode body = Http.json(r);
        assertEquals(200, r.statusCode(), body::toString);
        assertEquals("succeeded", body.get("status").asText());
        String url = body.get("output").get(0).asText();
        assertTrue(url.startsWith("data:image/png;base64,"), url.substring(0, 40));
        assertEquals(64, Http.image(Base64.getDecoder().decode(url.substring(url.indexOf(',') + 1))).getWidth());
        assertTrue(body.get("metrics").get("predict_time").asDouble() > 0);

        asyncRequest = "replicate-async-1";
        HttpResponse<byte[]> accepted = http.post("/predictions", "{\"input\":{\"prompt\":\"a fox\","
                + "\"num_inference_steps\":3,\"refine\":\"expert_ensemble_refiner\",\"apply_watermark\":false}}",
                "Prefer", "respond-async", "X-Request-Id", asyncRequest);
        JsonNode prediction = Http.json(accepted);
        assertEquals(202, accepted.statusCode(), prediction::toString);
        assertTrue(asyncDone.await(2, TimeUnit.MINUTES), "the async prediction finished");
        JsonNode done = Http.json(http.get("/predictions/" + prediction.get("id").asText()));
        assertEquals("succeeded", done.get("status").asText(), done::toString);
        assertEquals(1, done.get("output").size());

        HttpResponse<byte[]> bad = http.post("/predictions", "{\"input\":{\"prompt\":\"x\",\"scheduler\":\"euler\"}}");
        JsonNode detail = Http.json(bad).get("detail").get(0);
        assertEquals(422, bad.statusCode());
        assertEquals("[\"body\",\"input\",\"scheduler\"]", detail.get("loc").toString());
        assertEquals("READY", Http.json(http.get("/health-check")).get("status").asText());
    }

    @Test
    void theOfficialOpenAiJavaSdkGeneratesAndEditsWithAMask() throws Exception {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey("unused").timeout(Duration.ofMinutes(2)).maxRetries(0).build();
        try {
            ImagesResponse generated = client.images().generate(ImageGenerateParams.builder()
                    .prompt("a lighthouse at dawn").model("sdxl").n(2).size(ImageGenerateParams.Size.of("64x64"))
                    .responseFormat(ImageGenerateParams.ResponseFormat.B64_JSON).build());
            assertTrue(generated.created() > 0);
            assertEquals(2, generated.data().orElseThrow().size());
            for (var image : generated.data().orElseThrow()) {
                assertEquals(64, Http.image(Base64.getDecoder().decode(image.b64Json().orElseThrow())).getWidth());
            }

            BufferedImage mask = new BufferedImage(64, 48, BufferedImage.TYPE_INT_ARGB);
            for (int y = 0; y < 48; y++) {
                for (int x = 0; x < 64; x++) {
                    mask.setRGB(x, y, x < 32 ? 0x00000000 : 0xFF000000); // the left half is transparent: repainted
                }
            }
            BufferedImage source = Http.picture(64, 48);
            ImagesResponse edited = client.images().edit(ImageEditParams.builder()
                    .image(Http.png(source)).mask(Http.png(mask)).prompt("a red door").build());
            BufferedImage out = Http.image(Base64.getDecoder().decode(edited.data().orElseThrow().get(0).b64Json()
                    .orElseThrow()));
            assertEquals(64, out.getWidth());
            assertEquals(48, out.getHeight());
            // The opaque half is kept (the 4-channel UNet re-blends it every step; the VAE's round trip stays close).
            assertTrue(meanDifference(out, source, 40, 64) < meanDifference(out, source, 0, 24),
                    "the kept half is closer to the source than the repainted half");
        } finally {
            client.close();
        }
    }

    private static double meanDifference(BufferedImage a, BufferedImage b, int x0, int x1) {
        double sum = 0;
        int n = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = x0; x < x1; x++) {
                int p = a.getRGB(x, y);
                int q = b.getRGB(x, y);
                for (int s = 0; s < 24; s += 8) {
                    sum += Math.abs((p >> s & 0xFF) - (q >> s & 0xFF));
                    n++;
                }
            }
        }
        return sum / n;
    }

    @Test
    void automatic1111AnswersOpenWebUisTxt2ImgBodyAndAnImg2ImgWithInitImages() throws Exception {
        HttpResponse<byte[]> r = http.post("/sdapi/v1/txt2img", "{\"prompt\":\"a cat in a hat\",\"negative_prompt\":"
                + "\"\",\"batch_size\":1,\"width\":64,\"height\":64,\"steps\":4}");
        JsonNode body = Http.json(r);
        assertEquals(200, r.statusCode(), body::toString);
        assertEquals(64, Http.image(Base64.getDecoder().decode(body.get("images").get(0).asText())).getWidth());
        assertEquals("a cat in a hat", body.get("parameters").get("prompt").asText());
        JsonNode info = Http.JSON.readTree(body.get("info").asText());
        assertEquals(body.get("parameters").get("width").asInt(), info.get("width").asInt());
        assertTrue(info.get("seed").asLong() >= 0);

        String init = Base64.getEncoder().encodeToString(Http.png(Http.picture(64, 64)));
        HttpResponse<byte[]> i = http.post("/sdapi/v1/img2img", "{\"prompt\":\"a cat\",\"init_images\":[\"" + init
                + "\"],\"denoising_strength\":0.5,\"width\":64,\"height\":48,\"steps\":4}");
        JsonNode img = Http.json(i);
        assertEquals(200, i.statusCode(), img::toString);
        BufferedImage out = Http.image(Base64.getDecoder().decode(img.get("images").get(0).asText()));
        assertEquals(48, out.getHeight(), "A1111's img2img draws the request's size, not the image's");
        assertEquals(0.5, Http.JSON.readTree(img.get("info").asText()).get("denoising_strength").asDouble());

        JsonNode options = Http.json(http.get("/sdapi/v1/options"));
        String checkpoint = options.get("sd_model_checkpoint").asText();
        assertEquals(checkpoint, Http.json(http.get("/sdapi/v1/sd-models")).get(0).get("title").asText());
        assertEquals(200, http.post("/sdapi/v1/options", "{\"sd_model_checkpoint\":\"" + checkpoint + "\"}")
                .statusCode());
        HttpResponse<byte[]> other = http.post("/sdapi/v1/options", "{\"sd_model_checkpoint\":\"sd_xl_base_1.0\"}");
        assertEquals(422, other.statusCode());
        assertEquals("sd_model_checkpoint", Http.json(other).get("detail").get(0).get("loc").get(1).asText());
        assertTrue(Http.text(http.get("/sdapi/v1/samplers")).contains("\"Euler a\""));
        assertEquals(0, Http.json(http.get("/sdapi/v1/loras")).size());
        assertTrue(Http.json(http.get("/sdapi/v1/progress")).has("progress"));
        HttpResponse<byte[]> hires = http.post("/sdapi/v1/txt2img", "{\"prompt\":\"x\",\"enable_hr\":true}");
        assertEquals("enable_hr", Http.json(hires).get("detail").get(0).get("loc").get(1).asText());
    }
}
