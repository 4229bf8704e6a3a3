// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.engine.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticSdxlTest {

    /** Three UNet levels of 64/128/192 channels, transformer depth 0/1/2; small encoders and VAE. */
    static final SyntheticConfig SMALL = new SyntheticConfig(new int[] {64, 128, 192}, 2, new int[] {0, 1, 2},
            new SyntheticConfig.Clip(64, 2, 1, 128, true, 0), new SyntheticConfig.Clip(64, 2, 1, 128, false, 64),
            new int[] {32, 32, 32, 32}, 1, false);

    @TempDir
    static Path dir;
    static SyntheticSdxl.Summary written;

    @BeforeAll
    static void write() throws IOException {
        written = SyntheticSdxl.write(SMALL, dir);
    }

    @Test
    void writesOptimumsFolderLayoutWithExternalWeights() {
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                "tokenizer_2/merges.txt", "unet/config.json", "vae_decoder/config.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        for (SyntheticSdxl.Part part : SyntheticSdxl.Part.values()) {
            Path folder = dir.resolve(part.folder());
            assertTrue(Files.isRegularFile(folder.resolve("model.onnx_data")), part + " has external data");
            // The graph file holds structure only; the weights are in model.onnx_data.
            assertTrue(size(folder.resolve("model.onnx")) < size(folder.resolve("model.onnx_data")), part.folder());
        }
    }

    @Test
    void componentsHaveOptimumsInputAndOutputNames() {
        try (Engine engine = Engines.create(PipelineOptions.defaults())) {
            assertNames(engine, "unet", Set.of("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"),
                    Set.of("out_sample"));
            assertNames(engine, "text_encoder", Set.of("input_ids"), Set.of("last_hidden_state", "pooler_output",
                    "hidden_states.0", "hidden_states.1", "hidden_states.2"));
            assertNames(engine, "text_encoder_2", Set.of("input_ids"), Set.of("text_embeds", "last_hidden_state",
                    "hidden_states.0", "hidden_states.1", "hidden_states.2"));
            assertNames(engine, "vae_decoder", Set.of("latent_sample"), Set.of("sample"));
            assertNames(engine, "vae_encoder", Set.of("sample"), Set.of("latent_parameters"));
        }
    }

    @Test
    void pipelineLoadsTheFolderAndGeneratesAnImage() {
        try (SdxlPipeline pipeline = SdxlPipeline.load(dir)) {
            GenerationResult r = pipeline.generate(GenerationRequest.builder("a lighthouse").width(64).height(64)
                    .steps(2).seed(1).build());
            assertEquals(64, r.width());
            float[] pixels = r.image().pixels();
            assertEquals(64 * 64 * 3, pixels.length);
            for (float p : pixels) {
                assertTrue(p >= 0 && p <= 1, "pixel " + p);
            }
        }
    }

    @Test
    void unetFlopCountMatchesAHandCount() {
        FlopModel flops = written.unetFlops();
        for (int side : new int[] {8, 16, 24}) {
            double expected = handCountUnet(side * side);
            assertEquals(expected, flops.flops(1, side, side), expected * 1e-12, "latent " + side);
            assertEquals(2 * expected, flops.flops(2, side, side), expected * 1e-12, "batch 2");
        }
    }

    @Test
    void fullConfigHasSdxlsParameterCountsAndFlops() {
        SyntheticSdxl.Summary full = SyntheticSdxl.count(SyntheticConfig.full());
        // The parameter counts of stabilityai/stable-diffusion-xl-base-1.0's modules.
        assertEquals(2_567_463_684L, full.parameters().get(SyntheticSdxl.Part.UNET));
        assertEquals(123_060_480L, full.parameters().get(SyntheticSdxl.Part.TEXT_ENCODER));
        assertEquals(694_659_840L, full.parameters().get(SyntheticSdxl.Part.TEXT_ENCODER_2));
        assertEquals(49_490_199L, full.parameters().get(SyntheticSdxl.Part.VAE_DECODER));
        assertEquals(34_163_664L, full.parameters().get(SyntheticSdxl.Part.VAE_ENCODER));
        // 6.76 TFLOP per 1024×1024 call, 1.59 at 512×512 (DESIGN.md).
        assertEquals(6.76e12, full.unetFlops().flops(1, 128, 128), 0.01e12);
        assertEquals(1.59e12, full.unetFlops().flops(1, 64, 64), 0.01e12);
    }

    /**
     * The UNet's FLOPs for {@link #SMALL}, batch 1, {@code p} latent pixels, written out from the
     * architecture (diffusers' UNet2DConditionModel), not from the graph: 2 FLOPs per multiply-add;
     * 77 text tokens.
     */
    private static double handCountUnet(double p) {
        int c0 = 64, c1 = 128, c2 = 192, temb = 256, ctx = 128, t = 77;
        double p1 = p / 4, p2 = p / 16;
        double total = 0;
        // Time embedding (64 → 256 → 256) and add embedding ((64 + 6·256) → 256 → 256).
        total += 2.0 * c0 * temb + 2.0 * temb * temb;
        total += 2.0 * (64 + 6 * 256) * temb + 2.0 * temb * temb;
        // conv_in, conv_out.
        total += 2.0 * 9 * 4 * c0 * p + 2.0 * 9 * c0 * 4 * p;
        // Down: level 0 two resnets 64→64; downsample; level 1 resnets 64→128, 128→128 with a transformer
        // each; downsample; level 2 resnets 128→192, 192→192 with transformers of depth 2.
        total += 2 * resnet(c0, c0, p, temb) + 2.0 * 9 * c0 * c0 * p1;
        total += resnet(c0, c1, p1, temb) + resnet(c1, c1, p1, temb) + 2 * transformer(c1, 1, p1, ctx, t);
        total += 2.0 * 9 * c1 * c1 * p2;
        total += resnet(c1, c2, p2, temb) + resnet(c2, c2, p2, temb) + 2 * transformer(c2, 2, p2, ctx, t);
        // Mid: resnet, transformer (depth 2), resnet.
        total += 2 * resnet(c2, c2, p2, temb) + transformer(c2, 2, p2, ctx, t);
        // Up level 2: skips 192, 192, 128 onto 192; upsample conv at level 1.
        total += resnet(c2 + c2, c2, p2, temb) + resnet(c2 + c2, c2, p2, temb) + resnet(c2 + c1, c2, p2, temb)
                + 3 * transformer(c2, 2, p2, ctx, t) + 2.0 * 9 * c2 * c2 * p1;
        // Up level 1: skips 128, 128, 64; first resnet from 192; upsample conv at level 0.
        total += resnet(c2 + c1, c1, p1, temb) + resnet(c1 + c1, c1, p1, temb) + resnet(c1 + c0, c1, p1, temb)
                + 3 * transformer(c1, 1, p1, ctx, t) + 2.0 * 9 * c1 * c1 * p;
        // Up level 0: skips 64, 64, 64; first resnet from 128.
        total += resnet(c1 + c0, c0, p, temb) + resnet(c0 + c0, c0, p, temb) + resnet(c0 + c0, c0, p, temb);
        return total;
    }

    /** Two 3×3 convolutions, the 1×1 shortcut when widths differ, the time-embedding projection. */
    private static double resnet(int in, int out, double p, int temb) {
        return 2.0 * 9 * in * out * p + 2.0 * 9 * out * out * p + (in != out ? 2.0 * in * out * p : 0)
                + 2.0 * temb * out;
    }

    /**
     * proj_in and proj_out; per block: self-attention (q, k, v, out projections and the two
     * products over n² pairs), cross-attention (q, out on the image tokens, k, v on the text tokens,
     * products over n·t pairs), GEGLU feed-forward (C → 8C, 4C → C).
     */
    private static double transformer(int c, int depth, double n, int ctx, int t) {
        double block = 4 * 2.0 * c * c * n + 4.0 * c * n * n
                + 2 * 2.0 * c * c * n + 2 * 2.0 * ctx * c * t + 4.0 * c * n * t
                + 2.0 * c * 8 * c * n + 2.0 * 4 * c * c * n;
        return 2 * 2.0 * c * c * n + depth * block;
    }

    private static void assertNames(Engine engine, String component, Set<String> inputs, Set<String> outputs) {
        try (EngineSession s = engine.open(dir.resolve(component).resolve("model.onnx"), component)) {
            assertEquals(inputs, names(s.inputs()), component + " inputs");
            assertEquals(outputs, names(s.outputs()), component + " outputs");
        }
    }

    private static Set<String> names(List<TensorSpec> specs) {
        return specs.stream().map(TensorSpec::name).collect(Collectors.toSet());
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
