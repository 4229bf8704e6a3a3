// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sdxl4j.samples.BuiltInModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Writes a synthetic SDXL: SDXL's architecture ({@link SyntheticConfig}) with deterministic random
 * weights, as an ONNX export in optimum's folder layout ({@code model_index.json}, one folder per
 * component with {@code model.onnx} and its weights in {@code model.onnx_data}, the real CLIP
 * tokenizers, SDXL's scheduler config), so that {@code SdxlPipeline.load} opens it as it opens a
 * real export. Speed depends on shapes, not weight values: this is what the benchmarks run at
 * SDXL's real size where real weights cannot be downloaded.
 *
 * <pre>java -cp benchmarks.jar io.sdxl4j.bench.synthetic.SyntheticSdxl --out DIR [--width 0.25 --depth 0.2 [--full-text-vae] | --full] [--fp16] [--count]</pre>
 */
public final class SyntheticSdxl {

    /** The components, in optimum's folder names. */
    public enum Part { TEXT_ENCODER, TEXT_ENCODER_2, UNET, VAE_DECODER, VAE_ENCODER;

        public String folder() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * What was written (or counted).
     *
     * @param parameters per component
     * @param bytes      size of each component's files on disk (0 when counting only)
     * @param unetFlops  the UNet call's FLOPs as a function of batch and latent size
     */
    public record Summary(SyntheticConfig config, Map<Part, Long> parameters, Map<Part, Long> bytes,
                          FlopModel unetFlops) {
    }

    /**
     * What a cached folder's graphs look like beyond the config: 2 = node and parameter names in
     * module scopes, as optimum exports them (1, unmarked, had generic names).
     */
    static final String FORMAT = "format 2: module-scope names";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> TOKENIZER_FILES = List.of("vocab.json", "merges.txt", "special_tokens_map.json",
            "tokenizer_config.json");

    private SyntheticSdxl() {
    }

    /** Counts parameters and UNet FLOPs without writing anything. */
    public static Summary count(SyntheticConfig config) {
        Map<Part, Long> parameters = new LinkedHashMap<>();
        Map<Part, Long> bytes = new LinkedHashMap<>();
        FlopModel unetFlops = null;
        for (Part part : Part.values()) {
            GraphBuilder g = new GraphBuilder(WeightSink.none(), new FlopModel(), dtype(config), seed(part));
            graph(part, config).accept(g, config);
            parameters.put(part, g.parameters());
            bytes.put(part, 0L);
            if (part == Part.UNET) {
                unetFlops = g.flops();
            }
        }
        return new Summary(config, parameters, bytes, unetFlops);
    }

    /** Writes the model folder {@code dir} (created or overwritten). */
    public static Summary write(SyntheticConfig config, Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<Part, Long> parameters = new LinkedHashMap<>();
        Map<Part, Long> bytes = new LinkedHashMap<>();
        FlopModel unetFlops = null;
        for (Part part : Part.values()) {
            Path folder = dir.resolve(part.folder());
            Files.createDirectories(folder);
            Path onnx = folder.resolve("model.onnx");
            Path data = folder.resolve("model.onnx_data");
            GraphBuilder g;
            try (WeightSink sink = WeightSink.external(data)) {
                g = new GraphBuilder(sink, new FlopModel(), dtype(config), seed(part));
                graph(part, config).accept(g, config);
            }
            g.write(onnx, "sdxl4j-synthetic");
            parameters.put(part, g.parameters());
            bytes.put(part, Files.size(onnx) + Files.size(data));
            if (part == Part.UNET) {
                unetFlops = g.flops();
            }
            JSON.writeValue(folder.resolve("config.json").toFile(), config(part, config));
        }
        for (String tokenizer : List.of("tokenizer", "tokenizer_2")) {
            for (String file : TOKENIZER_FILES) {
                copyBuiltIn(tokenizer + "/" + file, dir);
            }
        }
        copyBuiltIn("scheduler/scheduler_config.json", dir);
        JSON.writeValue(dir.resolve("model_index.json").toFile(), modelIndex());
        return new Summary(config, parameters, bytes, unetFlops);
    }

    /**
     * The model folder for {@code config} under {@code parent}, written on first use and reused
     * after (a {@code COMPLETE} marker holding the config and the {@link #FORMAT} is written last;
     * a folder of an earlier format is written again).
     */
    public static Path ensure(SyntheticConfig config, Path parent) throws IOException {
        String name = config.toString().replaceAll("[^A-Za-z0-9]+", "-").replaceAll("-+$", "");
        Path dir = parent.resolve(name);
        Path marker = dir.resolve("COMPLETE");
        String stamp = config + "\n" + FORMAT;
        if (Files.isRegularFile(marker) && Files.readString(marker).equals(stamp)) {
            return dir;
        }
        write(config, dir);
        Files.writeString(marker, stamp);
        return dir;
    }

    private static BiConsumer<GraphBuilder, SyntheticConfig> graph(Part part, SyntheticConfig config) {
        return switch (part) {
            case TEXT_ENCODER -> (g, c) -> ClipTextGraph.build(g, c.textEncoder());
            case TEXT_ENCODER_2 -> (g, c) -> ClipTextGraph.build(g, c.textEncoder2());
            case UNET -> UNetGraph::build;
            case VAE_DECODER -> VaeGraph::decoder;
            case VAE_ENCODER -> VaeGraph::encoder;
        };
    }

    private static int dtype(SyntheticConfig config) {
        return config.fp16() ? GraphBuilder.FLOAT16 : GraphBuilder.FLOAT;
    }

    private static long seed(Part part) {
        return 0x5D1L * 31 + part.ordinal();
    }

    private static void copyBuiltIn(String file, Path dir) throws IOException {
        Path target = dir.resolve(file);
        Files.createDirectories(target.getParent());
        try (InputStream in = BuiltInModel.file(file)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static Map<String, Object> modelIndex() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "ORTStableDiffusionXLPipeline");
        m.put("_diffusers_version", "0.27.2");
        m.put("force_zeros_for_empty_prompt", true);
        m.put("requires_aesthetics_score", false);
        m.put("scheduler", List.of("diffusers", "EulerDiscreteScheduler"));
        m.put("text_encoder", List.of("transformers", "CLIPTextModel"));
        m.put("text_encoder_2", List.of("transformers", "CLIPTextModelWithProjection"));
        m.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        m.put("tokenizer_2", List.of("transformers", "CLIPTokenizer"));
        m.put("unet", List.of("diffusers", "UNet2DConditionModel"));
        m.put("vae", List.of("diffusers", "AutoencoderKL"));
        return m;
    }

    /** The component's config.json, with the fields of the real SDXL base 1.0 configs that describe the shapes. */
    private static Map<String, Object> config(Part part, SyntheticConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_sdxl4j_synthetic", c.toString());
        switch (part) {
            case TEXT_ENCODER, TEXT_ENCODER_2 -> {
                SyntheticConfig.Clip clip = part == Part.TEXT_ENCODER ? c.textEncoder() : c.textEncoder2();
                m.put("architectures", List.of(part == Part.TEXT_ENCODER ? "CLIPTextModel"
                        : "CLIPTextModelWithProjection"));
                m.put("hidden_act", clip.quickGelu() ? "quick_gelu" : "gelu");
                m.put("hidden_size", clip.hidden());
                m.put("intermediate_size", clip.mlp());
                m.put("num_attention_heads", clip.heads());
                m.put("num_hidden_layers", clip.layers());
                m.put("max_position_embeddings", SyntheticConfig.CONTEXT);
                m.put("vocab_size", SyntheticConfig.VOCAB);
                m.put("projection_dim", clip.projection() > 0 ? clip.projection() : clip.hidden());
                m.put("model_type", "clip_text_model");
            }
            case UNET -> {
                int[] ch = c.blockChannels();
                m.put("_class_name", "UNet2DConditionModel");
                m.put("addition_embed_type", "text_time");
                m.put("addition_time_embed_dim", SyntheticConfig.ADD_TIME_EMBED_DIM);
                m.put("attention_head_dim", java.util.Arrays.stream(ch).map(x -> x / SyntheticConfig.HEAD_DIM).toArray());
                m.put("block_out_channels", ch);
                m.put("cross_attention_dim", c.crossAttentionDim());
                m.put("down_block_types", List.of("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"));
                m.put("up_block_types", List.of("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"));
                m.put("in_channels", 4);
                m.put("out_channels", 4);
                m.put("layers_per_block", c.layersPerBlock());
                m.put("norm_num_groups", 32);
                m.put("projection_class_embeddings_input_dim", c.pooledDim() + 6 * SyntheticConfig.ADD_TIME_EMBED_DIM);
                m.put("sample_size", 128);
                m.put("transformer_layers_per_block", c.transformerDepth());
                m.put("use_linear_projection", true);
            }
            case VAE_DECODER, VAE_ENCODER -> {
                m.put("_class_name", "AutoencoderKL");
                m.put("block_out_channels", c.vaeChannels());
                m.put("in_channels", 3);
                m.put("out_channels", 3);
                m.put("latent_channels", 4);
                m.put("layers_per_block", c.vaeLayers());
                m.put("norm_num_groups", 32);
                m.put("sample_size", 1024);
                m.put("scaling_factor", 0.13025);
                m.put("force_upcast", true);
            }
        }
        return m;
    }

    /** Command line: writes a model folder, or with {@code --count} prints its size and FLOPs only. */
    public static void main(String[] args) throws IOException {
        Path out = null;
        double width = 0.25;
        double depth = 0.2;
        boolean full = false;
        boolean fp16 = false;
        boolean countOnly = false;
        boolean fullTextVae = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--width" -> width = Double.parseDouble(args[++i]);
                case "--depth" -> depth = Double.parseDouble(args[++i]);
                case "--full" -> full = true;
                case "--fp16" -> fp16 = true;
                case "--count" -> countOnly = true;
                case "--full-text-vae" -> fullTextVae = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; usage: --out DIR [--width W --depth D [--full-text-vae] | --full] [--fp16] [--count]");
            }
        }
        SyntheticConfig config = (full ? SyntheticConfig.full() : SyntheticConfig.scaled(width, depth)).withFp16(fp16);
        if (fullTextVae) {
            config = config.withFullTextAndVae();
        }
        if (!countOnly && out == null) {
            throw new IllegalArgumentException("--out DIR is required (or --count)");
        }
        Summary s = countOnly ? count(config) : write(config, out);
        System.out.println(describe(s));
    }

    /** A human-readable account of a summary: parameters, sizes, UNet TFLOP at 512, 768 and 1024. */
    public static String describe(Summary s) {
        StringBuilder b = new StringBuilder(s.config().toString()).append('\n');
        s.parameters().forEach((part, p) -> b.append(String.format(Locale.ROOT, "  %-15s %,15d parameters %,16d bytes%n",
                part.folder(), p, s.bytes().get(part))));
        for (int size : new int[] {512, 768, 1024}) {
            int latent = size / 8;
            FlopModel f = s.unetFlops();
            b.append(String.format(Locale.ROOT, "  UNet at %d, batch 1: %.3f TFLOP (linear %.3f, conv %.3f, attention %.3f)%n",
                    size, f.flops(1, latent, latent) / 1e12, f.flops(FlopModel.Kind.LINEAR, 1, latent, latent) / 1e12,
                    f.flops(FlopModel.Kind.CONV, 1, latent, latent) / 1e12,
                    f.flops(FlopModel.Kind.ATTENTION, 1, latent, latent) / 1e12));
        }
        return b.toString();
    }
}
