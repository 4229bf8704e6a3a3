// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.awt.image.BufferedImage;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRAs through the server: clients name the files of its LoRA folder ({@code serve --lora-dir}),
 * each API in its own way — the native {@code loras} list, Replicate's {@code replicate_weights}
 * fine-tune with {@code lora_scale}, A1111's {@code <lora:name:weight>} prompt tags and its
 * {@code /sdapi/v1/loras} list — and never a path of the server's disk. The adapters are the
 * conformance set's, whose effect on the tiny model is checked against diffusers elsewhere; here
 * what is checked is that the request reaches them.
 */
class Sdxl4jServerLorasTest {

    @TempDir
    static Path folder;
    static Sdxl4jServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        Path loras = Path.of(System.getProperty("sdxl4j.conformance.dir"), "loras");
        Files.copy(loras.resolve("tiny_unet_kohya.safetensors"), folder.resolve("unet-style.safetensors"));
        Path tune = Files.createDirectory(folder.resolve("my-tune"));
        Files.copy(loras.resolve("tiny_te_locon_kohya.safetensors"), tune.resolve("lora.safetensors"));
        writePti(tune.resolve("embeddings.pti"));
        Files.writeString(tune.resolve("special_params.json"), "{\"TOK\": \"<s0><s1>\"}");
        Path model = BuiltInModel.extract();
        PipelineOptions options = ServerFixture.options().toBuilder().loraDirectory(folder).build();
        server = Sdxl4jServer.start(() -> SdxlPipeline.load(model, options),
                Sdxl4jServer.Config.defaults().withPort(0).withMaxMemoryBytes(ServerFixture.BUDGET));
        server.awaitReady(Duration.ofMinutes(2));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void theNativeApiAppliesALoraOfTheFolderByNameInEitherSpelling() throws Exception {
        String base = "{\"prompt\":\"a lighthouse\",\"width\":64,\"height\":64,\"steps\":3,\"seed\":7";
        int[] plain = pixels(ok(http.post("/v1/generate", base + "}")));
        int[] tagged = pixels(ok(http.post("/v1/generate", base + ",\"loras\":[\"unet-style:0.8\"]}")));
        int[] object = pixels(ok(http.post("/v1/generate", base
                + ",\"loras\":[{\"name\":\"unet-style\",\"scale\":0.8}]}")));
        assertFalse(Arrays.equals(plain, tagged), "the LoRA changes the image");
        assertArrayEquals(tagged, object, "\"name:scale\" and {name, scale} are the same LoRA");
    }

    @Test
    void theNativeApiRefusesPathsAndUnknownNamesWithoutShowingTheFolder() throws Exception {
        for (String name : new String[] {"../unet-style", "/etc/passwd", "missing"}) {
            HttpResponse<byte[]> r = http.post("/v1/generate", "{\"prompt\":\"x\",\"width\":64,\"height\":64,"
                    + "\"steps\":1,\"loras\":[\"" + name + "\"]}");
            JsonNode error = Http.json(r);
            assertEquals(400, r.statusCode(), error::toString);
            assertEquals("loras", error.get("field").asText(), error::toString);
            assertFalse(error.toString().contains(folder.toString()), error::toString);
        }
        HttpResponse<byte[]> scale = http.post("/v1/generate", "{\"prompt\":\"x\",\"loras\":[\"unet-style:11\"]}");
        assertEquals(400, scale.statusCode());
        assertEquals("loras", Http.json(scale).get("field").asText());
    }

    @Test
    void replicateRunsAFineTuneOfTheFolderWithItsTriggerWordAndRefusesUrls() throws Exception {
        String input = "{\"input\":{\"prompt\":\"a photo of TOK\",\"width\":64,\"height\":64,"
                + "\"num_inference_steps\":3,\"seed\":5,\"apply_watermark\":false";
        int[] plain = pixels(output(http.post("/predictions", input + "}}")));
        int[] tuned = pixels(output(http.post("/predictions", input + ",\"replicate_weights\":\"my-tune\"}}")));
        int[] weaker = pixels(output(http.post("/predictions", input
                + ",\"replicate_weights\":\"my-tune\",\"lora_scale\":0.1}}")));
        assertFalse(Arrays.equals(plain, tuned), "the fine-tune changes the image");
        assertFalse(Arrays.equals(tuned, weaker), "lora_scale scales the fine-tune's LoRA");

        for (String weights : new String[] {"https://replicate.delivery/pbxt/x/trained_model.tar", "nope"}) {
            HttpResponse<byte[]> r = http.post("/predictions", "{\"input\":{\"prompt\":\"x\",\"replicate_weights\":\""
                    + weights + "\"}}");
            JsonNode detail = Http.json(r).get("detail").get(0);
            assertEquals(422, r.statusCode(), detail::toString);
            assertEquals("[\"body\",\"input\",\"replicate_weights\"]", detail.get("loc").toString());
        }
    }

    @Test
    void automatic1111ListsTheFolderAndAppliesLoraTagsOfThePrompt() throws Exception {
        JsonNode list = Http.json(http.get("/sdapi/v1/loras"));
        assertEquals(1, list.size(), list::toString);
        assertEquals("unet-style", list.get(0).get("name").asText());
        assertFalse(list.toString().contains(folder.toString()), "no path of the server's disk");

        String body = "{\"prompt\":\"%s\",\"width\":64,\"height\":64,\"steps\":3,\"seed\":11}";
        int[] plain = pixels(image(http.post("/sdapi/v1/txt2img", body.formatted("a castle"))));
        int[] tagged = pixels(image(http.post("/sdapi/v1/txt2img", body.formatted("a castle <lora:unet-style:0.8>"))));
        int[] weighted = pixels(image(http.post("/sdapi/v1/txt2img", body.formatted("a (castle:1.4)"))));
        assertFalse(Arrays.equals(plain, tagged), "the tag applies the LoRA");
        assertFalse(Arrays.equals(plain, weighted), "A1111's attention syntax weights the prompt");
    }

    @Test
    void anAdapterSetBeyondTheMemoryBudgetIsRefusedNamingLorasAndThePlainModelStillServes() throws Exception {
        // A budget that fits a plain 64×64 request and not a second copy of the encoders and UNet.
        Path model = BuiltInModel.extract();
        long weights = 0;
        for (String c : new String[] {"text_encoder", "text_encoder_2", "unet"}) {
            try (var files = Files.list(model.resolve(c))) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    weights += f.toString().endsWith(".json") ? 0 : Files.size(f);
                }
            }
        }
        String plain = "{\"prompt\":\"x\",\"width\":64,\"height\":64,\"steps\":1";
        long estimate = server.pipeline().estimatePeakMemory(io.sdxl4j.GenerationRequest.builder("x").size(64, 64)
                .steps(1).build());
        PipelineOptions options = ServerFixture.options().toBuilder().loraDirectory(folder).build();
        try (Sdxl4jServer tight = Sdxl4jServer.start(() -> SdxlPipeline.load(model, options),
                Sdxl4jServer.Config.defaults().withPort(0).withMaxMemoryBytes(estimate + weights))) {
            tight.awaitReady(Duration.ofMinutes(2));
            Http client = new Http(tight.port());
            HttpResponse<byte[]> refused = client.post("/v1/generate", plain + ",\"loras\":[\"unet-style\"]}");
            JsonNode error = Http.json(refused);
            assertEquals(413, refused.statusCode(), error::toString);
            assertEquals("loras", error.get("field").asText(), error::toString);
            assertEquals(0, tight.pipeline().adapterSetsOpened(), "refused before any merge");
            assertEquals(200, client.post("/v1/generate", plain + "}").statusCode());
        }
    }

    private static byte[] ok(HttpResponse<byte[]> r) {
        assertEquals(200, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8));
        return r.body();
    }

    private static byte[] output(HttpResponse<byte[]> r) throws Exception {
        JsonNode body = Http.json(r);
        assertEquals(200, r.statusCode(), body::toString);
        assertEquals("succeeded", body.get("status").asText(), body::toString);
        String url = body.get("output").get(0).asText();
        return Base64.getDecoder().decode(url.substring(url.indexOf(',') + 1));
    }

    private static byte[] image(HttpResponse<byte[]> r) throws Exception {
        JsonNode body = Http.json(r);
        assertEquals(200, r.statusCode(), body::toString);
        return Base64.getDecoder().decode(body.get("images").get(0).asText());
    }

    private static int[] pixels(byte[] encoded) throws Exception {
        BufferedImage image = Http.image(encoded);
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    // A Replicate embeddings.pti for the tiny model (hidden sizes 32 and 32): two tokens each,
    // in the safetensors layout (u64 header length, JSON header, little-endian data).
    private static void writePti(Path file) throws Exception {
        float[] values = new float[64];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i * 0.7) * 0.05f;
        }
        String header = "{\"text_encoders_0\":{\"dtype\":\"F32\",\"shape\":[2,32],\"data_offsets\":[0,256]},"
                + "\"text_encoders_1\":{\"dtype\":\"F32\",\"shape\":[2,32],\"data_offsets\":[256,512]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(8 + h.length + 512).order(ByteOrder.LITTLE_ENDIAN);
        data.putLong(h.length).put(h);
        for (int copy = 0; copy < 2; copy++) {
            for (float v : values) {
                data.putFloat(v);
            }
        }
        Files.write(file, data.array());
    }
}
