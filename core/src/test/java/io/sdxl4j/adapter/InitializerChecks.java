// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.model.Component;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an engine must do with replacement initializers, and end-to-end checks of merged adapters
 * against the conformance references through an engine: run by core's tests on {@code ort} and
 * by the native module's on {@code javacpp}.
 */
public final class InitializerChecks {

    private InitializerChecks() {
    }

    private static final float[] W = {1, 2, 3, 4, 5, 6};
    private static final float[] W2 = {-1, 0.5f, 2, 0, 3, -2};

    /** {@code y [1, 3] = x [1, 2] @ w [2, 3]}, w embedded or in {@code model.onnx_data}. */
    private static Path matmul(Path dir, boolean external) {
        Onnx.TensorProto w;
        if (external) {
            ByteBuffer b = ByteBuffer.allocate(16 + 24).order(ByteOrder.LITTLE_ENDIAN);
            b.position(16);
            for (float v : W) {
                b.putFloat(v);
            }
            TestFiles.write(dir.resolve("model.onnx_data"), b.array());
            w = TestFiles.externalInitializer("w", "model.onnx_data", 16, 6, 2, 3);
        } else {
            w = TestFiles.initializer("w", W, false, 2, 3);
        }
        return TestFiles.model(dir.resolve("model.onnx"),
                List.of(TestFiles.node("MatMul", "/proj/MatMul", List.of("x", "w"), "y")), List.of(w),
                List.of(TestFiles.value("x", Onnx.TensorProto.DataType.FLOAT_VALUE, 1, 2)),
                List.of(TestFiles.value("y", Onnx.TensorProto.DataType.FLOAT_VALUE, 1, 3)));
    }

    private static float[] run(EngineSession s, String in, HostTensor x, String out, long... outShape) {
        try (HostTensor y = HostTensor.allocate(DataType.FLOAT32, outShape);
             Binding b = s.bind(Map.of(in, x), Map.of(out, y))) {
            b.run();
            return y.toFloatArray();
        }
    }

    /** A replaced weight, embedded or external, is the one the session computes with; the file is not touched. */
    public static void aReplacedWeightIsTheOneTheSessionComputesWith(Engine engine, Path dir) {
        for (boolean external : new boolean[] {false, true}) {
            Path model = matmul(dir.resolve(external ? "external" : "embedded"), external);
            try (HostTensor x = HostTensor.of(new float[] {1, 10}, 1, 2)) {
                try (EngineSession plain = engine.open(model, "test/model.onnx")) {
                    assertArrayEquals(new float[] {41, 52, 63}, run(plain, "x", x, "y", 1, 3), 1e-5f);
                }
                HostTensor replacement = HostTensor.of(W2, 2, 3);
                try (EngineSession s = engine.open(model, "test/model.onnx", Map.of("w", replacement))) {
                    assertArrayEquals(new float[] {-1, 30.5f, -18}, run(s, "x", x, "y", 1, 3), 1e-5f);
                    assertTrue(!replacement.isClosed(), "the session keeps the replacement alive");
                }
                assertTrue(replacement.isClosed(), "closing the session frees the replacement");
                try (EngineSession again = engine.open(model, "test/model.onnx")) {
                    assertArrayEquals(new float[] {41, 52, 63}, run(again, "x", x, "y", 1, 3), 1e-5f,
                            "the model file is unchanged");
                }
            }
        }
    }

    /** A Gather table replaced by a larger one serves the new rows. */
    public static void aGrownGatherTableServesTheNewIds(Engine engine, Path dir) {
        float[] table = {0, 1, 10, 11, 20, 21, 30, 31};
        Path model = TestFiles.model(dir.resolve("gather/model.onnx"),
                List.of(TestFiles.node("Gather", "/embeddings/token_embedding/Gather", List.of("table", "ids"), "out")),
                List.of(TestFiles.initializer("table", table, false, 4, 2)),
                List.of(TestFiles.value("ids", Onnx.TensorProto.DataType.INT64_VALUE, 3)),
                List.of(TestFiles.value("out", Onnx.TensorProto.DataType.FLOAT_VALUE, 3, 2)));
        float[] grown = {0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51};
        try (EngineSession s = engine.open(model, "gather/model.onnx", Map.of("table", HostTensor.of(grown, 6, 2)));
             HostTensor ids = HostTensor.allocate(DataType.INT64, 3);
             HostTensor out = HostTensor.floats(3, 2);
             Binding b = s.bind(Map.of("ids", ids), Map.of("out", out))) {
            ids.longBuffer().put(0, 5).put(1, 1).put(2, 4);
            b.run();
            assertArrayEquals(new float[] {50, 51, 10, 11, 40, 41}, out.toFloatArray());
        }
    }

    /** A failed open frees the replacements it was given. */
    public static void aFailedOpenFreesTheReplacements(Engine engine, Path dir) {
        HostTensor t = HostTensor.of(W2, 2, 3);
        Path missing = dir.resolve("absent/model.onnx");
        SdxlException e = assertThrows(SdxlException.class, () -> engine.open(missing, "absent/model.onnx",
                Map.of("w", t)));
        assertTrue(e.getMessage().startsWith("absent/model.onnx: file not found"), e.getMessage());
        assertTrue(t.isClosed());
    }

    // ---- end to end against the conformance references

    static JsonNode conformanceCase(String id) {
        for (JsonNode c : TestData.json(TestData.conformance().resolve("cases.json")).get("cases")) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        throw new IllegalStateException("no case " + id);
    }

    static float[] npy(String caseId, String name) {
        try {
            return Npy.readFloats(TestData.conformance().resolve("cases").resolve(caseId).resolve(name + ".npy")).data();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path onnx(Component c) {
        return TestData.tinyModel().resolve(c.folder()).resolve("model.onnx");
    }

    /** Both encoders' {@code hidden_states.4} for one prompt's ids, interleaved as SDXL's prompt_embeds [77, 64], then pooled [32]. */
    private static float[][] encode(Engine engine, Map<Component, Map<String, HostTensor>> replacements,
                                    Map<Component, long[]> ids) {
        float[] embeds = new float[77 * 64];
        float[] pooled = new float[32];
        for (Component c : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
            Map<String, HostTensor> r = replacements.getOrDefault(c, Map.of());
            try (EngineSession s = engine.open(onnx(c), c.label(), r);
                 HostTensor in = HostTensor.allocate(DataType.INT64, 1, 77);
                 HostTensor hidden = HostTensor.floats(1, 77, 32);
                 HostTensor textEmbeds = HostTensor.floats(1, 32)) {
                in.longBuffer().put(0, ids.get(c));
                Map<String, HostTensor> outs = new LinkedHashMap<>();
                outs.put("hidden_states.4", hidden);
                if (c == Component.TEXT_ENCODER_2) {
                    outs.put("text_embeds", textEmbeds);
                }
                try (Binding b = s.bind(Map.of("input_ids", in), outs)) {
                    b.run();
                }
                float[] h = hidden.toFloatArray();
                int offset = c == Component.TEXT_ENCODER ? 0 : 32;
                for (int t = 0; t < 77; t++) {
                    System.arraycopy(h, t * 32, embeds, t * 64 + offset, 32);
                }
                if (c == Component.TEXT_ENCODER_2) {
                    pooled = textEmbeds.toFloatArray();
                }
            }
        }
        return new float[][] {embeds, pooled};
    }

    static float maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /**
     * {@code ti_two_vectors}: the embeddings loaded (tokens, converted prompt, grown token
     * embeddings through the engine) give the case's prompt_embeds and pooled embeds.
     */
    public static void textualInversionReproducesTheCaseEmbeddings(Engine engine) {
        JsonNode c = conformanceCase("ti_two_vectors");
        TextualInversion ti = TextualInversionTest.tiTwoVectors();
        Map<Component, Map<String, HostTensor>> grown = new LinkedHashMap<>();
        Map<Component, long[]> ids = new LinkedHashMap<>();
        for (Component comp : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
            grown.put(comp, ti.initializers(onnx(comp), comp));
            ids.put(comp, ti.encodePadded(comp, c.get("prompt").asText()));
        }
        float[][] got = encode(engine, grown, ids);
        float tolerance = (float) c.get("tolerance").get("embeds_max_abs").asDouble();
        float[] want = npy("ti_two_vectors", "prompt_embeds");
        assertTrue(maxAbsDiff(want, got[0]) <= tolerance, "prompt_embeds off by " + maxAbsDiff(want, got[0]));
        float[] wantPooled = npy("ti_two_vectors", "pooled_prompt_embeds");
        assertTrue(maxAbsDiff(wantPooled, got[1]) <= tolerance, "pooled off by " + maxAbsDiff(wantPooled, got[1]));
    }

    /**
     * {@code lora_kohya_te_locon_10}: the text-encoder part of the LoRA (kohya or PEFT file) merged
     * through the engine gives the case's prompt_embeds; without it they are far off.
     */
    public static void textEncoderLoraReproducesTheCaseEmbeddings(Engine engine, String loraFile) {
        JsonNode c = conformanceCase("lora_kohya_te_locon_10");
        float scale = (float) c.get("loras").get(0).get("scale").asDouble();
        Map<Component, long[]> ids = new LinkedHashMap<>();
        for (Component comp : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
            ids.put(comp, TextualInversionTest.tokenizer(comp).encodePadded(c.get("prompt").asText()));
        }
        float[] want = npy("lora_kohya_te_locon_10", "prompt_embeds");
        float tolerance = (float) c.get("tolerance").get("embeds_max_abs").asDouble();
        try (AdapterFile a = AdapterFile.load(TestData.conformance().resolve(loraFile))) {
            Map<Component, Map<String, HostTensor>> merged = new LinkedHashMap<>();
            for (Component comp : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
                merged.put(comp, AdapterMerge.merge(onnx(comp), comp, List.of(new AdapterMerge.Scaled(a, scale))));
            }
            float[][] got = encode(engine, merged, ids);
            assertTrue(maxAbsDiff(want, got[0]) <= tolerance, loraFile + ": prompt_embeds off by "
                    + maxAbsDiff(want, got[0]));
        }
        float[][] without = encode(engine, Map.of(), ids);
        assertTrue(maxAbsDiff(want, without[0]) > 100 * tolerance, "the LoRA changes the embeddings");
    }

    /**
     * {@code lora_kohya_unet_08} / {@code lora_peft_unet_08}: the UNet with the LoRA merged through
     * the engine makes the case's first Euler step (classifier-free guidance 5 on the case's own
     * embeddings, noise and sigmas); without it the step is far off.
     */
    public static void unetLoraReproducesTheCaseFirstStep(Engine engine, String caseId) {
        JsonNode c = conformanceCase(caseId);
        float scale = (float) c.get("loras").get(0).get("scale").asDouble();
        float[] want = npy(caseId, "latents_step00");
        try (AdapterFile a = AdapterFile.load(TestData.conformance().resolve(c.get("loras").get(0).get("file").asText()))) {
            Map<String, HostTensor> merged = AdapterMerge.merge(onnx(Component.UNET), Component.UNET,
                    List.of(new AdapterMerge.Scaled(a, scale)));
            float[] got = firstEulerStep(engine, caseId, c, merged);
            assertTrue(maxAbsDiff(want, got) < 1e-3f, caseId + ": step 0 off by " + maxAbsDiff(want, got));
        }
        float[] without = firstEulerStep(engine, caseId, c, Map.of());
        assertTrue(maxAbsDiff(want, without) > 1e-2f, "the LoRA changes the step: " + maxAbsDiff(want, without));
    }

    private static float[] firstEulerStep(Engine engine, String caseId, JsonNode c, Map<String, HostTensor> replaced) {
        float[] sigmas = npy(caseId, "sigmas");
        float[] timesteps = npy(caseId, "timesteps");
        float[] noise = npy(caseId, "noise_00");
        float guidance = (float) c.get("guidance_scale").asDouble();
        int n = noise.length; // 1 × 4 × 32 × 32
        float initSigma = (float) Math.sqrt(sigmas[0] * sigmas[0] + 1); // EulerDiscreteScheduler.init_noise_sigma
        float[] latents = new float[n];
        float[] sample = new float[2 * n];
        for (int i = 0; i < n; i++) {
            latents[i] = noise[i] * initSigma;
            float scaled = latents[i] / initSigma; // scale_model_input: x / sqrt(sigma^2 + 1)
            sample[i] = scaled;
            sample[n + i] = scaled;
        }
        float[] embeds = concat(npy(caseId, "negative_prompt_embeds"), npy(caseId, "prompt_embeds"));
        float[] pooled = concat(npy(caseId, "negative_pooled_prompt_embeds"), npy(caseId, "pooled_prompt_embeds"));
        float[] timeIds = {64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64};
        try (EngineSession unet = engine.open(onnx(Component.UNET), "unet/model.onnx", replaced);
             HostTensor x = HostTensor.of(sample, 2, 4, 32, 32);
             HostTensor t = HostTensor.of(new float[] {timesteps[0]});
             HostTensor e = HostTensor.of(embeds, 2, 77, 64);
             HostTensor p = HostTensor.of(pooled, 2, 32);
             HostTensor ids = HostTensor.of(timeIds, 2, 6);
             HostTensor out = HostTensor.floats(2, 4, 32, 32);
             Binding b = unet.bind(Map.of("sample", x, "timestep", t, "encoder_hidden_states", e, "text_embeds", p,
                     "time_ids", ids), Map.of("out_sample", out))) {
            b.run();
            float[] eps = out.toFloatArray();
            float dt = sigmas[1] - sigmas[0];
            float[] next = new float[n];
            for (int i = 0; i < n; i++) {
                float guided = eps[i] + guidance * (eps[n + i] - eps[i]);
                next[i] = latents[i] + guided * dt;
            }
            return next;
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
