// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Objects;

/**
 * How a pipeline runs its models: the engine, the execution provider and the engine's threading.
 * Immutable; made with {@link #builder()} or {@link #defaults()}. Separate from
 * {@link GenerationRequest}, which says what to generate.
 */
public final class PipelineOptions {

    /** The engine in core, on ONNX Runtime Java. */
    public static final String DEFAULT_ENGINE = "ort";

    private final String engine;
    private final ExecutionProvider provider;
    private final int intraOpThreads;
    private final int interOpThreads;

    private PipelineOptions(Builder b) {
        this.engine = b.engine;
        this.provider = b.provider;
        this.intraOpThreads = b.intraOpThreads;
        this.interOpThreads = b.interOpThreads;
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

    public Builder toBuilder() {
        return new Builder().engine(engine).provider(provider).intraOpThreads(intraOpThreads)
                .interOpThreads(interOpThreads);
    }

    @Override
    public String toString() {
        return "PipelineOptions[engine=" + engine + ", provider=" + provider + ", intraOpThreads=" + intraOpThreads
                + ", interOpThreads=" + interOpThreads + "]";
    }

    /** Builds {@link PipelineOptions}; every setter validates its argument. */
    public static final class Builder {
        private String engine = DEFAULT_ENGINE;
        private ExecutionProvider provider = ExecutionProvider.cpu();
        private int intraOpThreads;
        private int interOpThreads;

        private Builder() {
        }

        public Builder engine(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("engine: '" + name + "' is empty");
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
                throw new IllegalArgumentException("intraOpThreads: " + threads + " is negative");
            }
            this.intraOpThreads = threads;
            return this;
        }

        public Builder interOpThreads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("interOpThreads: " + threads + " is negative");
            }
            this.interOpThreads = threads;
            return this;
        }

        public PipelineOptions build() {
            return new PipelineOptions(this);
        }
    }
}
