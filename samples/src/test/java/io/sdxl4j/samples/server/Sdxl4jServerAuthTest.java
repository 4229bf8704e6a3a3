// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** With {@code --api-key}, each client style's own header lets it in; without it, 401 in that API's shape. */
class Sdxl4jServerAuthTest {

    static final String KEY = "k3y-for-tests";
    static Sdxl4jServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        server = Sdxl4jServer.start(() -> SdxlPipeline.load(BuiltInModel.extract(), ServerFixture.options()),
                Sdxl4jServer.Config.defaults().withPort(0).withApiKey(KEY).withMaxMemoryBytes(ServerFixture.BUDGET));
        server.awaitReady(Duration.ofMinutes(2));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Stream<Arguments> styles() {
        String basic = "Basic " + Base64.getEncoder().encodeToString(("webui:" + KEY).getBytes(StandardCharsets.UTF_8));
        String cf = "/client/v4/accounts/a1/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0";
        // Each body is missing its prompt: let in, it is refused for that (400/422), never 401.
        return Stream.of(
                Arguments.of("openai", "/v1/images/generations", "{}", "Authorization", "Bearer " + KEY),
                Arguments.of("cloudflare", cf, "{}", "Authorization", "Bearer " + KEY),
                Arguments.of("dataoorts", "/api/v1", "{\"model\":\"stabilityai/stable-diffusion-xl-base-1.0\","
                        + "\"data\":{}}", "Authorization", "Bearer " + KEY),
                Arguments.of("replicate", "/predictions", "{\"input\":{\"prompt\":\"x\",\"width\":7}}", "Authorization",
                        "Bearer " + KEY),
                Arguments.of("native", "/v1/generate", "{}", "Authorization", "Bearer " + KEY),
                Arguments.of("baseten", "/production/predict", "{}", "Authorization", "Api-Key " + KEY),
                Arguments.of("segmind", "/v1/sdxl-torch", "{}", "x-api-key", KEY),
                Arguments.of("automatic1111", "/sdapi/v1/txt2img", "{\"steps\":0}", "Authorization", basic));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("styles")
    void eachClientsOwnHeaderLetsItInAndWithoutItIs401InItsShape(String api, String path, String body, String header,
                                                                 String value) throws Exception {
        HttpResponse<byte[]> in = http.post(path, body, header, value);
        assertNotEquals(401, in.statusCode(), () -> Http.text(in));
        assertTrue(in.statusCode() == 400 || in.statusCode() == 422, () -> in.statusCode() + " " + Http.text(in));

        HttpResponse<byte[]> out = http.post(path, body);
        assertEquals(401, out.statusCode(), () -> Http.text(out));
        assertTrue(out.headers().firstValue("WWW-Authenticate").isPresent());
        JsonNode error = Http.json(out);
        String shape = switch (api) {
            case "openai" -> error.get("error").get("message").asText();
            case "cloudflare" -> error.get("errors").get(0).get("message").asText();
            case "replicate" -> error.get("detail").asText();
            case "native" -> error.get("message").asText();
            case "baseten", "dataoorts", "segmind" -> error.get("error") == null ? error.get("message").asText()
                    : error.get("error").asText();
            default -> error.get("detail").asText();
        };
        assertTrue(shape.contains("API key"), error::toString);

        String wrongValue = value.startsWith("Basic ") ? "Basic " + Base64.getEncoder().encodeToString(
                ("webui:" + KEY + "x").getBytes(StandardCharsets.UTF_8)) : value.replace(KEY, KEY + "x");
        HttpResponse<byte[]> wrong = http.post(path, body, header, wrongValue);
        assertEquals(401, wrong.statusCode(), () -> Http.text(wrong));
    }

    @Test
    void healthReadinessAndMetricsStayOpen() throws Exception {
        assertEquals(200, http.get("/healthz").statusCode());
        assertEquals(200, http.get("/readyz").statusCode());
        assertEquals(200, http.get("/metrics").statusCode());
        assertEquals(200, http.get("/health-check").statusCode());
        assertTrue(Http.text(http.get("/metrics")).contains("sdxl4j_requests_total{api=\"native\",outcome=\"unauthorized\"}")
                || Http.text(http.get("/metrics")).contains("# TYPE sdxl4j_requests_total counter"));
    }
}
