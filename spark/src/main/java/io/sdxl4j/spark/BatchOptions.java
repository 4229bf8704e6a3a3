// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import java.io.Serial;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * How a batch job runs: the model every executor loads, the LoRA folder the requests' {@code loras}
 * name files of, where the images go, how many partitions, and the pipeline's engine, provider and
 * threads. Immutable and {@link Serializable}: it travels to the executors with the job's closure,
 * and each executor turns it into the {@link PipelineOptions} of its one pipeline. Made with
 * {@link #builder()}.
 */
public final class BatchOptions implements Serializable {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The execution provider a pipeline uses. */
    public enum Provider {
        /** ONNX Runtime's CPU provider (the default). */
        CPU,
        /** CUDA, on the GPU Spark assigned to the task ({@code spark.task.resource.gpu.amount=1}), else device 0. */
        CUDA,
        /** TensorRT, on the GPU Spark assigned to the task, else device 0. */
        TENSORRT;

        /** {@code cpu}, {@code cuda} or {@code tensorrt}, any case. */
        public static Provider parse(String name) {
            try {
                return valueOf(name.strip().toUpperCase(Locale.ROOT).replace("-", ""));
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("provider", name, "is not one of cpu, cuda, tensorrt");
            }
        }
    }

    private final String modelDir;
    private final String loraDir;
    private final String outputDir;
    private final int partitions;
    private final String engine;
    private final Provider provider;
    private final int threads;
    private final String optimizedModelCache;
    private final int maxAdapterSets;
    private final Precision precision;
    private final boolean fusedAttention;

    private BatchOptions(Builder b) {
        this.modelDir = b.modelDir;
        this.loraDir = b.loraDir;
        this.outputDir = b.outputDir;
        this.partitions = b.partitions;
        this.engine = b.engine;
        this.provider = b.provider;
        this.threads = b.threads;
        this.optimizedModelCache = b.optimizedModelCache;
        this.maxAdapterSets = b.maxAdapterSets;
        this.precision = b.precision;
        this.fusedAttention = b.fusedAttention;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The model folder, a local path that every executor can read (a shared file system, or the same
     * path in every executor's image). Empty: the built-in tiny random model of {@code sdxl4j-samples},
     * which each executor unpacks for itself (its images are noise patterns). Default: empty.
     */
    public Optional<String> modelDir() {
        return Optional.ofNullable(modelDir);
    }

    /** The LoRA folder the requests' {@code loras} names are files of, local to every executor. Default: none. */
    public Optional<String> loraDir() {
        return Optional.ofNullable(loraDir);
    }

    /**
     * Where the images are written as {@code <id>.png}, a Hadoop file system URI or path ({@code file:},
     * {@code hdfs:}, {@code s3a:} …). Empty: the PNG bytes are returned in the result's {@code png}
     * column instead. Default: empty.
     */
    public Optional<String> outputDir() {
        return Optional.ofNullable(outputDir);
    }

    /**
     * Partitions of the requests; each is one task, and a failed task generates its partition again.
     * 0: Spark's default parallelism (the cores, or GPUs, of the cluster). Default 0.
     */
    public int partitions() {
        return partitions;
    }

    /** The engine ({@link PipelineOptions#engine()}). Default {@code ort}. */
    public String engine() {
        return engine;
    }

    /** The execution provider. Default {@link Provider#CPU}. */
    public Provider provider() {
        return provider;
    }

    /**
     * ONNX Runtime's intra-op threads of each pipeline. 0: the executor's cores
     * ({@code spark.executor.cores}; in local mode the N of {@code local[N]}), since the tasks of an
     * executor share its one pipeline and take turns on it. Default 0.
     */
    public int threads() {
        return threads;
    }

    /** {@link PipelineOptions#optimizedModelCache()} on every executor, a local folder. Default: none. */
    public Optional<String> optimizedModelCache() {
        return Optional.ofNullable(optimizedModelCache);
    }

    /**
     * {@link PipelineOptions#maxAdapterSets()} of each pipeline. 0: on the CPU the tasks an executor runs
     * at once ({@code spark.executor.cores / spark.task.cpus}), since they share its pipeline and each
     * may be on a LoRA set of its own; on a GPU 1, since each task has the pipeline of its device.
     * Default 0.
     */
    public int maxAdapterSets() {
        return maxAdapterSets;
    }

    /** {@link PipelineOptions#precision()} of every pipeline. Default {@link Precision#FP32}. */
    public Precision precision() {
        return precision;
    }

    /** {@link PipelineOptions#fusedAttention()} of every pipeline. Default false. */
    public boolean fusedAttention() {
        return fusedAttention;
    }

    /** The options of a pipeline on {@code device} (−1: none assigned) with these threads and adapter sets. */
    PipelineOptions pipelineOptions(int device, int threadCount, int adapterSets) {
        ExecutionProvider p = switch (provider) {
            case CPU -> ExecutionProvider.cpu();
            case CUDA -> ExecutionProvider.cuda().withDeviceId(Math.max(device, 0));
            case TENSORRT -> ExecutionProvider.tensorRt().withDeviceId(Math.max(device, 0));
        };
        return PipelineOptions.builder().engine(engine).provider(p).intraOpThreads(threadCount)
                .loraDirectory(loraDir == null ? null : Path.of(loraDir))
                .optimizedModelCache(optimizedModelCache == null ? null : Path.of(optimizedModelCache))
                .maxAdapterSets(adapterSets).precision(precision).fusedAttention(fusedAttention).build();
    }

    @Override
    public String toString() {
        return "BatchOptions[model=" + (modelDir == null ? "built-in" : modelDir)
                + (loraDir == null ? "" : ", loras=" + loraDir) + ", output=" + (outputDir == null ? "rows" : outputDir)
                + ", partitions=" + partitions + ", engine=" + engine + ", provider=" + provider + ", threads=" + threads
                + ", maxAdapterSets=" + maxAdapterSets + (precision == Precision.FP32 ? "" : ", precision=" + precision)
                + (fusedAttention ? ", fusedAttention=true" : "") + "]";
    }

    /** Builds {@link BatchOptions}; every setter validates its argument. */
    public static final class Builder {
        private String modelDir;
        private String loraDir;
        private String outputDir;
        private int partitions;
        private String engine = PipelineOptions.DEFAULT_ENGINE;
        private Provider provider = Provider.CPU;
        private int threads;
        private String optimizedModelCache;
        private int maxAdapterSets;
        private Precision precision = Precision.FP32;
        private boolean fusedAttention;

        private Builder() {
        }

        /** See {@link BatchOptions#precision()}. */
        public Builder precision(Precision value) {
            this.precision = Objects.requireNonNull(value, "precision");
            return this;
        }

        /** See {@link BatchOptions#fusedAttention()}. */
        public Builder fusedAttention(boolean enabled) {
            this.fusedAttention = enabled;
            return this;
        }

        /** The model folder, or null for the built-in tiny model. */
        public Builder modelDir(Path dir) {
            this.modelDir = dir == null ? null : dir.toAbsolutePath().normalize().toString();
            return this;
        }

        /** The LoRA folder, or null for none. */
        public Builder loraDir(Path dir) {
            this.loraDir = dir == null ? null : dir.toAbsolutePath().normalize().toString();
            return this;
        }

        /** The output folder (a Hadoop URI or path), or null to return the PNG bytes in the rows. */
        public Builder outputDir(String dir) {
            if (dir != null && dir.isBlank()) {
                throw new InvalidRequestException("outputDir", dir, "is empty");
            }
            this.outputDir = dir;
            return this;
        }

        public Builder partitions(int count) {
            if (count < 0) {
                throw new InvalidRequestException("partitions", count, "is negative");
            }
            this.partitions = count;
            return this;
        }

        public Builder engine(String name) {
            if (name == null || name.isBlank()) {
                throw new InvalidRequestException("engine", name, "is empty");
            }
            this.engine = name.strip();
            return this;
        }

        public Builder provider(Provider value) {
            this.provider = Objects.requireNonNull(value, "provider");
            return this;
        }

        public Builder threads(int count) {
            if (count < 0) {
                throw new InvalidRequestException("threads", count, "is negative");
            }
            this.threads = count;
            return this;
        }

        public Builder optimizedModelCache(Path dir) {
            this.optimizedModelCache = dir == null ? null : dir.toAbsolutePath().normalize().toString();
            return this;
        }

        /** Adapter sets each pipeline keeps open, or 0 (see {@link BatchOptions#maxAdapterSets()}). */
        public Builder maxAdapterSets(int sets) {
            if (sets < 0) {
                throw new InvalidRequestException("maxAdapterSets", sets, "is negative");
            }
            this.maxAdapterSets = sets;
            return this;
        }

        public BatchOptions build() {
            return new BatchOptions(this);
        }
    }
}
