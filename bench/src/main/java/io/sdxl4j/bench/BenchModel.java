// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.bench.synthetic.SyntheticConfig;
import io.sdxl4j.bench.synthetic.SyntheticSdxl;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.pipeline.UNet;
import io.sdxl4j.samples.BuiltInModel;
import io.sdxl4j.PromptEmbeds;
import io.sdxl4j.text.TextConditioner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The model under benchmark, opened the way the pipeline opens it (engine, text conditioning,
 * UNet). Which model, by system property:
 * <ul>
 *   <li>{@code -Dsdxl4j.model=DIR}: an SDXL ONNX export; {@code -Dsdxl4j.model=tiny}: the built-in
 *   tiny random model;</li>
 *   <li>otherwise the synthetic SDXL ({@code -Dsdxl4j.synthetic=full}, or {@code =W,D} for widths ×
 *   W and depths × D; default {@value #DEFAULT_SCALE}), in fp16 with {@code -Dsdxl4j.fp16=true},
 *   written once under {@code -Dsdxl4j.synthetic.dir} (default: the temporary folder).</li>
 * </ul>
 */
final class BenchModel implements AutoCloseable {

    static final String DEFAULT_SCALE = "0.25,0.2";

    final ModelFolder folder;
    final Engine engine;
    final TextConditioner text;
    final UNet unet;

    BenchModel() {
        this(PipelineOptions.defaults());
    }

    BenchModel(PipelineOptions options) {
        this(folder(), options);
    }

    BenchModel(Path dir, PipelineOptions options) {
        this.folder = ModelFolder.open(dir);
        this.engine = Engines.create(options);
        this.text = TextConditioner.open(folder, engine);
        this.unet = UNet.open(folder, engine, text.hiddenSize(), text.pooledSize(), options);
    }

    /** The folder of the model under benchmark (writing the synthetic model if needed). */
    static Path folder() {
        String dir = System.getProperty("sdxl4j.model", "");
        if (dir.equals("tiny")) {
            return BuiltInModel.extract();
        }
        if (!dir.isBlank()) {
            return Path.of(dir);
        }
        return synthetic(Boolean.getBoolean("sdxl4j.fp16"));
    }

    /**
     * The options of an engine on the provider of {@code -Dsdxl4j.provider}: {@code cpu} (default),
     * {@code cuda}, or {@code cuda-graph} (CUDA with CUDA graphs, engine {@code javacpp}).
     */
    static PipelineOptions options(String engine) {
        String provider = System.getProperty("sdxl4j.provider", "cpu");
        return PipelineOptions.builder().engine(engine).provider(switch (provider) {
            case "cpu" -> ExecutionProvider.cpu();
            case "cuda" -> ExecutionProvider.cuda();
            case "cuda-graph" -> ExecutionProvider.cuda().withCudaGraph(true);
            default -> throw new IllegalArgumentException("sdxl4j.provider: '" + provider
                    + "' is not cpu, cuda or cuda-graph");
        }).build();
    }

    /** The synthetic SDXL of {@code -Dsdxl4j.synthetic}, in fp32 or fp16. */
    static Path synthetic(boolean fp16) {
        try {
            return SyntheticSdxl.ensure(config().withFp16(fp16), Path.of(System.getProperty("sdxl4j.synthetic.dir",
                    System.getProperty("java.io.tmpdir"))).resolve("sdxl4j-synthetic"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the synthetic SDXL", e);
        }
    }

    static SyntheticConfig config() {
        String scale = System.getProperty("sdxl4j.synthetic", DEFAULT_SCALE);
        if (scale.equals("full")) {
            return SyntheticConfig.full();
        }
        String[] wd = scale.split(",");
        return SyntheticConfig.scaled(Double.parseDouble(wd[0]), Double.parseDouble(wd[1]));
    }

    PromptEmbeds prompt(String prompt) {
        return text.encode(prompt);
    }

    @Override
    public void close() {
        unet.close();
        text.close();
        engine.close();
    }
}
