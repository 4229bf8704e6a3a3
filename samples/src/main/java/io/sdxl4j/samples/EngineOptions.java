// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that load a pipeline. */
final class EngineOptions {

    /** Providers by CLI name. */
    enum Provider { CPU, CUDA, TENSORRT }

    @Option(names = "--engine", paramLabel = "NAME", defaultValue = PipelineOptions.DEFAULT_ENGINE,
            description = "Inference engine: ort (ONNX Runtime Java) or javacpp (ONNX Runtime's C++ API with"
                    + " IOBinding, needed for --cuda-graph) (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--provider", paramLabel = "P", defaultValue = "CPU",
            description = "Execution provider: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Provider provider;

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "CUDA device id (default: 0).")
    int device;

    @Option(names = "--cuda-graph",
            description = "With --provider CUDA and --engine javacpp: capture each model run as a CUDA graph and"
                    + " replay it.")
    boolean cudaGraph;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Intra-op threads; 0 lets ONNX Runtime choose (default: 0).")
    int threads;

    @Option(names = "--model-cache", paramLabel = "DIR",
            description = "Keep each model's optimized graph in DIR, so that later starts skip ONNX Runtime's graph"
                    + " optimization; it takes about the model's size on disk (default:"
                    + " $XDG_CACHE_HOME/sdxl4j/models, else ~/.cache/sdxl4j/models).")
    Path modelCache;

    @Option(names = "--no-model-cache",
            description = "Optimize every graph at every start and write no cache (the first start is faster, the"
                    + " later ones slower).")
    boolean noModelCache;

    /** The user's cache folder for optimized graphs (the CLI and the server keep one; the library writes none unasked). */
    static Path defaultModelCache() {
        return defaultModelCache(System.getenv("XDG_CACHE_HOME"), System.getProperty("user.home"));
    }

    /**
     * {@code $XDG_CACHE_HOME/sdxl4j/models}, else {@code ~/.cache/sdxl4j/models}: the XDG base
     * directory specification's cache folder, whose variable counts only when set to an absolute path.
     */
    static Path defaultModelCache(String xdgCacheHome, String userHome) {
        Path base = xdgCacheHome != null && !xdgCacheHome.isBlank() && Path.of(xdgCacheHome).isAbsolute()
                ? Path.of(xdgCacheHome) : Path.of(userHome, ".cache");
        return base.resolve("sdxl4j").resolve("models");
    }

    @Option(names = "--lora-dir", paramLabel = "DIR",
            description = "Folder of LoRA files: --lora NAME and A1111 <lora:NAME:SCALE> tags are looked up there.")
    Path loraDir;

    @Option(names = "--max-adapter-sets", paramLabel = "N", defaultValue = "1",
            description = "Adapter sets (LoRA/embedding combinations) kept open at once (default: ${DEFAULT-VALUE}).")
    int maxAdapterSets;

    @Option(names = "--fused-attention",
            description = "Rewrite the UNet's and the VAE's attention into ONNX Runtime's MultiHeadAttention (flash"
                    + " attention on CPU and CUDA: far less memory at large sizes).")
    boolean fusedAttention;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "FP32",
            description = "Number format: ${COMPLETION-CANDIDATES}. INT8 runs the UNet's linear layers in int8"
                    + " (CPU with AMX/VNNI; faster, a few levels of 255 off the fp32 image; no LoRAs);"
                    + " INT8_CONV its convolutions too; FP16 converts an fp32 export's UNet at load, for GPUs"
                    + " (default: ${DEFAULT-VALUE}).")
    Precision precision;

    PipelineOptions toOptions() {
        return toOptions(true);
    }

    /**
     * @param keepGraphs false for a model whose folder is new at every start (the built-in model,
     *                   extracted to a fresh temporary folder): its graphs would be new cache entries
     *                   every time, so none are kept
     */
    PipelineOptions toOptions(boolean keepGraphs) {
        if (cudaGraph && provider != Provider.CUDA) {
            throw new IllegalArgumentException("--cuda-graph: needs --provider CUDA, not " + provider);
        }
        ExecutionProvider p = switch (provider) {
            case CPU -> ExecutionProvider.cpu();
            case CUDA -> ExecutionProvider.cuda().withDeviceId(device).withCudaGraph(cudaGraph);
            case TENSORRT -> ExecutionProvider.tensorRt().withDeviceId(device);
        };
        Path cache = noModelCache || !keepGraphs ? null : modelCache != null ? modelCache : defaultModelCache();
        return PipelineOptions.builder().engine(engine).provider(p).intraOpThreads(threads).optimizedModelCache(cache)
                .loraDirectory(loraDir).maxAdapterSets(maxAdapterSets).fusedAttention(fusedAttention).precision(precision)
                .build();
    }
}
