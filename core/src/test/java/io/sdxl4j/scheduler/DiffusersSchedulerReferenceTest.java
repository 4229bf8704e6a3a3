// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.SchedulerType;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every scheduler against diffusers' own scheduler code (tools/scheduler-refs): timesteps, sigmas
 * and init_noise_sigma for three spacings and 1–50 steps, full sampling trajectories on a synthetic
 * model (noise from sdxl4j's torch-compatible generator, so stochastic samplers are checked too),
 * and img2img starts part-way through the schedule.
 */
class DiffusersSchedulerReferenceTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HostTensorOps OPS = HostTensorOps.INSTANCE;
    /** One engine per name on the class path; their ops drive the trajectories (host or device tensors). */
    private static final Map<String, Engine> ENGINES = new TreeMap<>();
    private static final long[] SHAPE = {1, 4, 8, 8};
    private static final JsonNode COMMON = read("_common.json");

    static Stream<Arguments> variants() throws IOException {
        List<Arguments> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir())) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (!name.startsWith("_")) {
                    out.add(Arguments.of(name.replace(".json", ""), read(name)));
                }
            }
        }
        return out.stream();
    }

    /** Every variant on every engine on the class path. */
    static Stream<Arguments> variantsOnEngines() throws IOException {
        List<Arguments> variants = variants().toList();
        return Engines.available().stream().sorted().flatMap(engine -> variants.stream()
                .map(v -> Arguments.of(engine, v.get()[0], v.get()[1])));
    }

    private static TensorOps ops(String engine) {
        return ENGINES.computeIfAbsent(engine, e -> Engines.create(PipelineOptions.builder().engine(e).build())).ops();
    }

    @AfterAll
    static void closeEngines() {
        ENGINES.values().forEach(Engine::close);
    }

    @Test
    void theSeedZeroAndSeedOneDrawsAreTorchsBitForBit() {
        assertBits(floats(COMMON.path("initial_noise_seed0")), new TorchGenerator(0).randn(256), "seed 0");
        assertBits(floats(COMMON.path("img2img_noise_seed1")), new TorchGenerator(1).randn(256), "seed 1");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void schedulesMatchDiffusers(String variant, JsonNode ref) {
        for (JsonNode s : ref.path("schedules")) {
            String where = variant + " " + s.path("spacing").asText() + " " + s.path("steps").asInt() + " steps";
            try (Scheduler scheduler = create(ref, s.path("spacing").asText())) {
                scheduler.setTimesteps(s.path("steps").asInt());
                assertTimesteps(doubles(s.path("timesteps")), scheduler.timesteps(), where);
                if (!s.path("sigmas").isNull()) {
                    assertClose(doubles(s.path("sigmas")), scheduler.sigmas(), 2e-6, where + ": sigmas");
                }
                assertClose(new double[] {number(s.path("init_noise_sigma"))},
                        new double[] {scheduler.initNoiseSigma()}, 2e-6, where + ": init_noise_sigma");
                assertEquals(s.path("order").asInt(), scheduler.order(), where + ": order");
            }
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("variantsOnEngines")
    void trajectoriesMatchDiffusers(String engine, String variant, JsonNode ref) {
        TensorOps ops = ops(engine);
        for (JsonNode run : ref.path("trajectories")) {
            String where = engine + " " + variant + " " + run.path("spacing").asText() + " " + run.path("steps").asInt()
                    + " steps";
            try (Scheduler s = create(ref, run.path("spacing").asText());
                 Tensor latents = ops.allocate(SHAPE);
                 Tensor output = ops.allocate(SHAPE);
                 HostTensor hostLatents = HostTensor.floats(SHAPE);
                 HostTensor input = HostTensor.floats(SHAPE);
                 HostTensor hostOutput = HostTensor.floats(SHAPE)) {
                s.setTimesteps(run.path("steps").asInt());
                s.begin(ops, SHAPE);
                TorchGenerator generator = new TorchGenerator(0);
                ops.randn(latents, generator);
                ops.scale(latents, (float) s.initNoiseSigma(), latents);
                assertTimesteps(doubles(run.path("timesteps")), s.timesteps(), where);
                for (int i = 0; i < s.evaluationCount(); i++) {
                    ops.download(hostLatents, latents);
                    OPS.scale(input, (float) s.inputScale(i), hostLatents);
                    model(input, s.timestep(i), hostOutput);
                    ops.upload(output, hostOutput);
                    if (i == 0 && run.has("first_model_input")) {
                        assertClose(doubles(run.path("first_model_input")), toDoubles(input), 1e-5,
                                where + ": first model input");
                    }
                    s.step(output, i, latents, generator);
                    if (i == 0) {
                        ops.download(hostLatents, latents);
                        assertClose(doubles(run.path("first_step_latents")), toDoubles(hostLatents), 1e-4,
                                where + ": latents after the first step");
                    }
                }
                ops.download(hostLatents, latents);
                assertClose(doubles(run.path("final_latents")), toDoubles(hostLatents), 1e-4,
                        where + ": final latents");
            }
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("variantsOnEngines")
    void img2imgStartsPartWayAsDiffusersDoes(String engine, String variant, JsonNode ref) {
        TensorOps ops = ops(engine);
        JsonNode run = ref.path("img2img");
        String where = engine + " " + variant + " img2img";
        try (Scheduler s = create(ref, run.path("spacing").asText());
             HostTensor hostInit = HostTensor.of(floats(COMMON.path("img2img_init_latents")), SHAPE);
             Tensor init = ops.onEngine(hostInit);
             Tensor noise = ops.allocate(SHAPE);
             Tensor latents = ops.allocate(SHAPE);
             Tensor output = ops.allocate(SHAPE);
             HostTensor hostLatents = HostTensor.floats(SHAPE);
             HostTensor input = HostTensor.floats(SHAPE);
             HostTensor hostOutput = HostTensor.floats(SHAPE)) {
            s.setTimesteps(run.path("num_inference_steps").asInt());
            s.begin(ops, SHAPE);
            int begin = run.path("t_start").asInt() * s.order();
            TorchGenerator generator = new TorchGenerator(1);
            ops.randn(noise, generator);
            s.addNoise(init, noise, begin, latents);
            ops.download(hostLatents, latents);
            assertClose(doubles(run.path("noised_start_latents")), toDoubles(hostLatents), 1e-5,
                    where + ": noised start");
            for (int i = begin; i < s.evaluationCount(); i++) {
                ops.download(hostLatents, latents);
                OPS.scale(input, (float) s.inputScale(i), hostLatents);
                model(input, s.timestep(i), hostOutput);
                ops.upload(output, hostOutput);
                s.step(output, i, latents, generator);
                if (i == begin) {
                    ops.download(hostLatents, latents);
                    assertClose(doubles(run.path("first_step_latents")), toDoubles(hostLatents), 1e-4,
                            where + ": latents after the first step");
                }
            }
            ops.download(hostLatents, latents);
            assertClose(doubles(run.path("final_latents")), toDoubles(hostLatents), 1e-4, where + ": final latents");
        }
    }

    /** The reference's synthetic model: ε = 0.8·x/(1 + t/1000) + 0.1·sin(0.37·k + 0.01·t), in float32. */
    private static void model(HostTensor x, double t, HostTensor out) {
        var in = x.floatBuffer();
        var o = out.floatBuffer();
        float denominator = (float) (1 + t / 1000.0);
        float phase = (float) (t * 0.01);
        for (int k = 0; k < x.size(); k++) {
            float a = (0.8f * in.get(k)) / denominator;
            o.put(k, a + 0.1f * (float) Math.sin((float) k * 0.37f + phase));
        }
    }

    private static Scheduler create(JsonNode ref, String spacing) {
        SchedulerConfig config = SchedulerConfig.of(toMap(COMMON.path("sdxl_config")));
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.path("overrides").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            config = config.with(e.getKey(), value(e.getValue()));
        }
        config = config.with("timestep_spacing", spacing);
        return Schedulers.create(SchedulerType.find(ref.path("class").asText()).orElseThrow(
                () -> new AssertionError("no scheduler type for " + ref.path("class").asText())), config);
    }

    private static Map<String, Object> toMap(JsonNode node) {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        node.fields().forEachRemaining(e -> map.put(e.getKey(), value(e.getValue())));
        return map;
    }

    private static Object value(JsonNode n) {
        if (n.isNull()) {
            return null;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        if (n.isIntegralNumber()) {
            return n.longValue();
        }
        if (n.isNumber()) {
            return n.doubleValue();
        }
        return n.asText();
    }

    /**
     * Timesteps agree to 1e-4 relative, or 0.02 absolute for fractional ones mapped back from σ.
     * sdxl4j's training σ agree with torch's to about one float ulp (not always bit for bit: torch
     * 1.13's vectorised linspace rounds a few betas differently), and KDPM2-ancestral's
     * σ_down = sqrt(σ_next² − σ_up²) cancels catastrophically in diffusers' own float32 arithmetic
     * (relative error ≈ ulp·(σ/σ_next)², up to 1.5% of σ_down), moving its interpolated timesteps by
     * up to 0.015: far below what a UNet's timestep embedding resolves.
     */
    private static void assertTimesteps(double[] expected, double[] actual, String where) {
        assertEquals(expected.length, actual.length, where + ": timesteps length");
        for (int i = 0; i < expected.length; i++) {
            double tolerance = expected[i] % 1 == 0 ? 1e-4 * Math.max(1, Math.abs(expected[i])) : 0.02;
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance)) {
                fail(where + ": timesteps[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
            }
        }
    }

    private static void assertClose(double[] expected, double[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                // diffusers' own divisions by zero (DDIM with zero terminal SNR at t = T−1): the
                // sample is lost either way; ±∞ and NaN are the same failure.
                assertTrue(Double.isNaN(a) || Double.isInfinite(a), what + "[" + i + "]: expected " + e + ", got " + a);
                continue;
            }
            if (!(Math.abs(e - a) <= tolerance * Math.max(1, Math.abs(e)))) {
                fail(what + "[" + i + "]: expected " + e + ", got " + a);
            }
        }
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), what + "[" + i + "]");
        }
        assertTrue(expected.length > 0);
    }

    private static double number(JsonNode n) {
        return n.isTextual() ? Double.parseDouble(n.asText()) : n.asDouble();
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = number(array.get(i));
        }
        return out;
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) number(array.get(i));
        }
        return out;
    }

    private static double[] toDoubles(HostTensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** The reference folder: a directory, or a folder of the test jar when another module runs these tests. */
    private static Path dir() {
        try {
            URI uri = DiffusersSchedulerReferenceTest.class.getResource("diffusers").toURI();
            if (uri.getScheme().equals("jar")) {
                try {
                    FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException alreadyOpen) {
                    // opened by an earlier call
                }
            }
            return Path.of(uri);
        } catch (URISyntaxException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode read(String name) {
        try (var in = Files.newInputStream(dir().resolve(name))) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
