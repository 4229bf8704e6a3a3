// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.adapter.AdapterFile;
import io.sdxl4j.adapter.AdapterMerge;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.model.Component;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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

    @Test
    void fullUnetNamesNodesAndWeightsInModuleScopesAsOptimumDoes() {
        GraphBuilder g = new GraphBuilder(WeightSink.none(), new FlopModel(), GraphBuilder.FLOAT, 1);
        UNetGraph.build(g, SyntheticConfig.full());
        Map<String, Onnx.NodeProto> byName = new java.util.HashMap<>();
        for (Onnx.NodeProto n : g.nodes()) {
            assertEquals(null, byName.put(n.getName(), n), "node name " + n.getName() + " twice");
        }
        // Optimum's (TorchScript's) names of SDXL's UNet, as real exports and the tiny conformance UNet have them.
        Map<String, String> weights = Map.of(
                "/conv_in/Conv", "conv_in.weight",
                "/time_embedding/linear_1/MatMul", "onnx::MatMul_",
                "/add_embedding/linear_2/MatMul", "onnx::MatMul_",
                "/down_blocks.0/resnets.0/conv1/Conv", "down_blocks.0.resnets.0.conv1.weight",
                "/down_blocks.1/resnets.0/conv_shortcut/Conv", "down_blocks.1.resnets.0.conv_shortcut.weight",
                "/down_blocks.1/downsamplers.0/conv/Conv", "down_blocks.1.downsamplers.0.conv.weight",
                "/down_blocks.2/attentions.1/transformer_blocks.9/attn2/to_k/MatMul", "onnx::MatMul_",
                "/mid_block/attentions.0/transformer_blocks.9/ff/net.2/MatMul", "onnx::MatMul_",
                "/up_blocks.1/upsamplers.0/conv/Conv", "up_blocks.1.upsamplers.0.conv.weight",
                "/conv_out/Conv", "conv_out.weight");
        weights.forEach((node, weight) -> {
            Onnx.NodeProto n = byName.get(node);
            assertTrue(n != null, "no node " + node);
            assertTrue(n.getInput(1).startsWith(weight), node + " reads " + n.getInput(1));
        });
        assertTrue(byName.containsKey("/up_blocks.2/resnets.2/time_emb_proj/MatMul"));
        assertTrue(!byName.containsKey("/up_blocks.2/upsamplers.0/conv/Conv"), "SDXL's last up block has no upsampler");
        // Every Linear of every transformer block is one of the 700 modules an SDXL LoRA targets.
        Set<String> linears = new HashSet<>();
        for (Onnx.NodeProto n : g.nodes()) {
            if (n.getOpType().equals("MatMul") && n.getName().contains("/transformer_blocks.")
                    && n.getInput(1).startsWith("onnx::MatMul_")) {
                linears.add(n.getName().substring(1, n.getName().lastIndexOf('/')).replace('/', '.'));
            }
        }
        Set<String> targets = new HashSet<>();
        SyntheticLora.targets(SyntheticConfig.full()).forEach(t -> targets.add(t.module()));
        assertEquals(700, targets.size());
        assertEquals(targets, linears);
    }

    @Test
    void aPeftOrKohyaLoraMapsOntoEveryAttentionAndFeedForwardLinear() throws IOException {
        Path peft = dir.resolve("lora-peft.safetensors");
        Path kohya = dir.resolve("lora-kohya.safetensors");
        List<SyntheticLora.Target> targets = SyntheticLora.targets(SMALL);
        SyntheticLora.Summary s = SyntheticLora.write(SMALL, peft, 4, SyntheticLora.Keys.PEFT, 7);
        SyntheticLora.write(SMALL, kohya, 4, SyntheticLora.Keys.KOHYA, 7);
        // Level 1: 5 transformers of depth 1; level 2: 5 of depth 2; mid: depth 2; 10 Linears each.
        assertEquals(170, targets.size());
        assertEquals(170, s.modules());
        assertEquals(targets.stream().mapToLong(t -> 4L * (t.in() + t.out())).sum(), s.parameters());
        Path unet = dir.resolve("unet/model.onnx");
        try (AdapterFile a = AdapterFile.load(peft); AdapterFile b = AdapterFile.load(kohya)) {
            assertEquals(170, a.moduleCount());
            assertEquals(170, b.moduleCount());
            Map<String, HostTensor> fromPeft = AdapterMerge.merge(unet, Component.UNET,
                    List.of(new AdapterMerge.Scaled(a, 1f)));
            Map<String, HostTensor> fromKohya = AdapterMerge.merge(unet, Component.UNET,
                    List.of(new AdapterMerge.Scaled(b, 1f)));
            try {
                assertEquals(170, fromPeft.size());
                assertEquals(fromPeft.keySet(), fromKohya.keySet());
                for (String name : fromPeft.keySet()) {
                    assertTrue(name.startsWith("onnx::MatMul_"), name);
                    assertEquals(fromPeft.get(name).floatBuffer(), fromKohya.get(name).floatBuffer(), name);
                }
                // One weight by hand: a cross-attention key projection, [in, out] = [128, 192] as stored.
                String module = "up_blocks.0.attentions.2.transformer_blocks.1.attn2.to_k";
                Onnx.ModelProto model = Onnx.ModelProto.parseFrom(Files.readAllBytes(unet));
                String node = "/up_blocks.0/attentions.2/transformer_blocks.1/attn2/to_k/MatMul";
                String init = model.getGraph().getNodeList().stream().filter(n -> n.getName().equals(node))
                        .findFirst().orElseThrow().getInput(1);
                float[] w = initializer(model, init, dir.resolve("unet"));
                float[] down = safetensors(peft, "unet." + module + ".lora_A.weight");
                float[] up = safetensors(peft, "unet." + module + ".lora_B.weight");
                int in = 128;
                int out = 192;
                int rank = 4;
                FloatBuffer merged = fromPeft.get(init).floatBuffer();
                for (int i = 0; i < in; i++) {
                    for (int o = 0; o < out; o++) {
                        double d = 0;
                        for (int k = 0; k < rank; k++) {
                            d += (double) up[o * rank + k] * down[k * in + i];
                        }
                        assertEquals(w[i * out + o] + d, merged.get(i * out + o), 1e-5, "[" + i + ", " + o + "]");
                    }
                }
            } finally {
                AdapterMerge.closeAll(fromPeft);
                AdapterMerge.closeAll(fromKohya);
            }
        }
    }

    @Test
    void kohyaStemsUseSgmBlockNumbers() {
        assertEquals("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
                SyntheticLora.kohyaStem("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", 2));
        assertEquals("lora_unet_input_blocks_8_1_transformer_blocks_9_ff_net_0_proj",
                SyntheticLora.kohyaStem("down_blocks.2.attentions.1.transformer_blocks.9.ff.net.0.proj", 2));
        assertEquals("lora_unet_middle_block_1_transformer_blocks_3_attn2_to_out_0",
                SyntheticLora.kohyaStem("mid_block.attentions.0.transformer_blocks.3.attn2.to_out.0", 2));
        assertEquals("lora_unet_output_blocks_5_1_transformer_blocks_1_ff_net_2",
                SyntheticLora.kohyaStem("up_blocks.1.attentions.2.transformer_blocks.1.ff.net.2", 2));
    }

    /** A float32 initializer's values from the model's external data. */
    private static float[] initializer(Onnx.ModelProto model, String name, Path folder) throws IOException {
        Onnx.TensorProto t = model.getGraph().getInitializerList().stream().filter(x -> x.getName().equals(name))
                .findFirst().orElseThrow();
        long offset = 0;
        long length = 0;
        String location = null;
        for (Onnx.StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "offset" -> offset = Long.parseLong(e.getValue());
                case "length" -> length = Long.parseLong(e.getValue());
                case "location" -> location = e.getValue();
                default -> {
                }
            }
        }
        byte[] all = Files.readAllBytes(folder.resolve(location));
        float[] out = new float[(int) (length / 4)];
        ByteBuffer.wrap(all, (int) offset, (int) length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** An F16 tensor of a safetensors file, read as the format defines it. */
    private static float[] safetensors(Path file, String key) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) b.getLong(0);
        assertEquals(0, headerLength % 8);
        JsonNode header = new ObjectMapper().readTree(new String(all, 8, headerLength, StandardCharsets.UTF_8));
        JsonNode e = header.get(key);
        assertEquals("F16", e.get("dtype").asText());
        long begin = e.get("data_offsets").get(0).asLong();
        long end = e.get("data_offsets").get(1).asLong();
        float[] out = new float[(int) ((end - begin) / 2)];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.float16ToFloat(b.getShort((int) (8 + headerLength + begin) + 2 * i));
        }
        return out;
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
