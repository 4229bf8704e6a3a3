// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a pipeline runs its models: the engine, the execution provider, the engine's threading and
 * ONNX Runtime's session settings. Immutable; made with {@link #builder()} or {@link #defaults()}.
 * Separate from {@link GenerationRequest}, which says what to generate. The defaults are the best
 * measured on the synthetic SDXL ({@code bench/RESULTS.md}, "Engine tuning").
 */
public final class PipelineOptions {

    /** The engine in core, on ONNX Runtime Java. */
    public static final String DEFAULT_ENGINE = "ort";

    private final String engine;
    private final ExecutionProvider provider;
    private final int intraOpThreads;
    private final int interOpThreads;
    private final GraphOptimization graphOptimization;
    private final boolean memoryPattern;
    private final boolean cpuArena;
    private final boolean arenaShrinkage;
    private final Path optimizedModelCache;
    private final Path loraDirectory;
    private final List<Lora> loras;
    private final List<Embedding> embeddings;
    private final int maxAdapterSets;
    private final boolean fusedAttention;
    private final Precision precision;

    private PipelineOptions(Builder b) {
        this.engine = b.engine;
        this.provider = b.provider;
        this.intraOpThreads = b.intraOpThreads;
        this.interOpThreads = b.interOpThreads;
        this.graphOptimization = b.graphOptimization;
        this.memoryPattern = b.memoryPattern;
        this.cpuArena = b.cpuArena;
        this.arenaShrinkage = b.arenaShrinkage;
        this.optimizedModelCache = b.optimizedModelCache;
        this.loraDirectory = b.loraDirectory;
        this.loras = List.copyOf(b.loras);
        this.embeddings = List.copyOf(b.embeddings);
        this.maxAdapterSets = b.maxAdapterSets;
        this.fusedAttention = b.fusedAttention;
        this.precision = b.precision;
    }

    /** The names of the engines on the class path ({@code ort}; {@code javacpp} with the native module). */
    public static java.util.List<String> availableEngines() {
        return io.sdxl4j.engine.Engines.available();
    }

    /** Engine {@code ort}, CPU provider, ONNX Runtime's default thread counts. */
    public static PipelineOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The engine's name, as registered through {@code io.sdxl4j.engine.EngineProvider}. Default {@code ort}. */
    public String engine() {
        return engine;
    }

    /** The execution provider. Default CPU. */
    public ExecutionProvider provider() {
        return provider;
    }

    /** Threads inside one operator; 0 lets ONNX Runtime choose (one per physical core). Default 0. */
    public int intraOpThreads() {
        return intraOpThreads;
    }

    /** Threads across independent operators; 0 lets ONNX Runtime choose. Default 0. */
    public int interOpThreads() {
        return interOpThreads;
    }

    /** How far ONNX Runtime optimizes each graph when it opens it. Default {@link GraphOptimization#ALL}. */
    public GraphOptimization graphOptimization() {
        return graphOptimization;
    }

    /**
     * ONNX Runtime's memory pattern: after the first run with given shapes, plan all intermediate
     * buffers as one block. Default true.
     */
    public boolean memoryPattern() {
        return memoryPattern;
    }

    /** ONNX Runtime's CPU memory arena (intermediate buffers reused across runs instead of freed). Default true. */
    public boolean cpuArena() {
        return cpuArena;
    }

    /**
     * ONNX Runtime's run option {@code memory.enable_memory_arena_shrinkage} ({@code cpu:0}) on every
     * model run: at the end of each run the CPU arena hands the memory the run took beyond its
     * initial chunk back to the system, so that the working memory of one large request (attention
     * score matrices of gigabytes) does not stay resident for the life of the process, as it does
     * with the arena's default of never shrinking. It costs each run the re-allocation of its
     * intermediate buffers (measured on the built-in tiny model: within the run-to-run noise at
     * 64², about a third more time per run at 128², {@code bench/RESULTS.md}). Only meaningful with
     * {@link #cpuArena()}; the ONNX Runtime Java classes of the JavaCPP preset (the class path of
     * {@code sdxl4j-native}) cannot set run options, so there engine {@code ort} refuses it at load
     * and engine {@code javacpp} applies it. Default false.
     */
    public boolean arenaShrinkage() {
        return arenaShrinkage;
    }

    /**
     * A folder where each model's graph is kept after ONNX Runtime has optimized it, so that the next
     * process opens the optimized graph instead of optimizing again: faster start-up. The cache is
     * keyed by the model file (path, size, modification time), the ONNX Runtime version, the
     * provider and the optimization level, and is valid on the machine that wrote it only. Default:
     * none (a library writes no files it was not asked to).
     */
    public Optional<Path> optimizedModelCache() {
        return Optional.ofNullable(optimizedModelCache);
    }

    /**
     * The folder where LoRA files named by a relative path or a bare name are looked up (A1111's
     * {@code <lora:name:scale>} tags, the server's {@code loras} by name). Default: none (such names
     * are refused).
     */
    public Optional<Path> loraDirectory() {
        return Optional.ofNullable(loraDirectory);
    }

    /** LoRA adapters every request gets (a fine-tune the pipeline serves). Default: none. */
    public List<Lora> loras() {
        return loras;
    }

    /** Textual-inversion embeddings every request gets. Default: none. */
    public List<Embedding> embeddings() {
        return embeddings;
    }

    /**
     * Adapter sets (model variants) kept open at once beside the plain model: switching to a set not
     * kept costs a session start (its weights merged, its text encoders and UNet opened), and the
     * least recently used set is closed. Default 1.
     */
    public int maxAdapterSets() {
        return maxAdapterSets;
    }

    /**
     * Whether the attention blocks of the UNet and the VAE are rewritten into ONNX Runtime's
     * {@code com.microsoft.MultiHeadAttention} when their sessions open, as ONNX Runtime's Python
     * optimizer does for Stable Diffusion: the fused kernel (flash attention on the CPU and on CUDA)
     * never holds the attention score matrices, which at large sizes are most of a UNet call's
     * memory. The export's files are not changed; with {@link #optimizedModelCache()} the fused graph
     * is kept there (apart from the unfused one). Measured in {@code bench/RESULTS.md}, "Fused
     * attention". Default false.
     */
    public boolean fusedAttention() {
        return fusedAttention;
    }

    /**
     * The precision the models run in. {@link Precision#FP16} converts an fp32 export's UNet to
     * float16 when its session opens, for GPUs (the text encoders and the VAE stay fp32: SDXL's VAE
     * overflows in fp16); its image is within 0.01 of fp32's on the conformance models
     * ({@code bench/RESULTS.md}, "fp16 conversion"). A UNet whose weights are external opens past
     * the optimized-model cache (its converted weights are held in memory). {@link Precision#INT8}
     * and {@link Precision#INT8_CONV} quantize the UNet's weights for the CPU's int8 units
     * ({@code bench/RESULTS.md}, "Precision"). Default {@link Precision#FP32}: the export as it is.
     */
    public Precision precision() {
        return precision;
    }

    public Builder toBuilder() {
        return new Builder().engine(engine).provider(provider).intraOpThreads(intraOpThreads)
                .interOpThreads(interOpThreads).graphOptimization(graphOptimization).memoryPattern(memoryPattern)
                .cpuArena(cpuArena).arenaShrinkage(arenaShrinkage).optimizedModelCache(optimizedModelCache)
                .loraDirectory(loraDirectory).loras(loras).embeddings(embeddings).maxAdapterSets(maxAdapterSets)
                .fusedAttention(fusedAttention).precision(precision);
    }

    @Override
    public String toString() {
        return "PipelineOptions[engine=" + engine + ", provider=" + provider + ", intraOpThreads=" + intraOpThreads
                + ", interOpThreads=" + interOpThreads + ", graphOptimization=" + graphOptimization
                + ", memoryPattern=" + memoryPattern + ", cpuArena=" + cpuArena + ", arenaShrinkage=" + arenaShrinkage
                + ", optimizedModelCache=" + optimizedModelCache
                + (loraDirectory == null ? "" : ", loraDirectory=" + loraDirectory)
                + (loras.isEmpty() ? "" : ", loras=" + loras) + (embeddings.isEmpty() ? "" : ", embeddings=" + embeddings)
                + ", maxAdapterSets=" + maxAdapterSets + (fusedAttention ? ", fusedAttention=true" : "")
                + (precision == Precision.FP32 ? "" : ", precision=" + precision) + "]";
    }

    /** Builds {@link PipelineOptions}; every setter validates its argument. */
    public static final class Builder {
        private String engine = DEFAULT_ENGINE;
        private ExecutionProvider provider = ExecutionProvider.cpu();
        private int intraOpThreads;
        private int interOpThreads;
        private GraphOptimization graphOptimization = GraphOptimization.ALL;
        private boolean memoryPattern = true;
        private boolean cpuArena = true;
        private boolean arenaShrinkage;
        private Path optimizedModelCache;
        private Path loraDirectory;
        private List<Lora> loras = List.of();
        private List<Embedding> embeddings = List.of();
        private int maxAdapterSets = 1;
        private boolean fusedAttention;
        private Precision precision = Precision.FP32;

        private Builder() {
        }

        /**
         * The number format the models compute in (see {@link Precision}); default
         * {@link Precision#FP32}. The int8 settings run on the CPU provider only, and not with
         * LoRA adapters: {@link #build()} refuses either combination.
         */
        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        public Builder engine(String name) {
            if (name == null || name.isBlank()) {
                throw new InvalidRequestException("engine", name, "is empty");
            }
            this.engine = name.strip();
            return this;
        }

        public Builder provider(ExecutionProvider provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        public Builder intraOpThreads(int threads) {
            if (threads < 0) {
                throw new InvalidRequestException("intraOpThreads", threads, "is negative");
            }
            this.intraOpThreads = threads;
            return this;
        }

        public Builder interOpThreads(int threads) {
            if (threads < 0) {
                throw new InvalidRequestException("interOpThreads", threads, "is negative");
            }
            this.interOpThreads = threads;
            return this;
        }

        public Builder graphOptimization(GraphOptimization level) {
            this.graphOptimization = Objects.requireNonNull(level, "graphOptimization");
            return this;
        }

        public Builder memoryPattern(boolean enabled) {
            this.memoryPattern = enabled;
            return this;
        }

        public Builder cpuArena(boolean enabled) {
            this.cpuArena = enabled;
            return this;
        }

        /** See {@link PipelineOptions#arenaShrinkage()}. */
        public Builder arenaShrinkage(boolean enabled) {
            this.arenaShrinkage = enabled;
            return this;
        }

        /** The optimized-model cache folder (created when needed), or null for none. */
        public Builder optimizedModelCache(Path dir) {
            this.optimizedModelCache = dir == null ? null : dir.toAbsolutePath().normalize();
            return this;
        }

        /** The LoRA folder (see {@link PipelineOptions#loraDirectory()}), or null for none. */
        public Builder loraDirectory(Path dir) {
            this.loraDirectory = dir == null ? null : dir.toAbsolutePath().normalize();
            return this;
        }

        /** LoRA adapters every request gets. */
        public Builder loras(List<Lora> values) {
            this.loras = List.copyOf(values);
            return this;
        }

        /** Embeddings every request gets. */
        public Builder embeddings(List<Embedding> values) {
            this.embeddings = List.copyOf(values);
            return this;
        }

        /** Adapter sets kept open at once, at least 1. */
        public Builder maxAdapterSets(int sets) {
            if (sets < 1) {
                throw new InvalidRequestException("maxAdapterSets", sets, "is below 1");
            }
            this.maxAdapterSets = sets;
            return this;
        }

        /** See {@link PipelineOptions#fusedAttention()}. */
        public Builder fusedAttention(boolean enabled) {
            this.fusedAttention = enabled;
            return this;
        }

        public PipelineOptions build() {
            if (precision.int8() && !(provider instanceof ExecutionProvider.Cpu)) {
                throw new InvalidRequestException("precision", precision, "runs on the CPU provider only (its int8"
                        + " kernels are ONNX Runtime's CPU kernels), not on " + provider.name());
            }
            if (precision.int8() && !loras.isEmpty()) {
                throw new InvalidRequestException("precision", precision, "cannot be combined with LoRA adapters"
                        + " (their weights merge into the float32 weights the int8 ones replace); use FP32");
            }
            return new PipelineOptions(this);
        }
    }
}
