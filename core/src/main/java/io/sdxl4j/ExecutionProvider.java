// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where ONNX Runtime runs the models. CPU is in every ONNX Runtime build; CUDA and TensorRT need
 * a GPU build on the classpath ({@code com.microsoft.onnxruntime:onnxruntime_gpu} for CUDA 12, or
 * the CUDA 13 build of the {@code org.bytedeco:onnxruntime} preset, never both).
 */
public sealed interface ExecutionProvider
        permits ExecutionProvider.Cpu, ExecutionProvider.Cuda, ExecutionProvider.TensorRt {

    /** The CPU provider. */
    static Cpu cpu() {
        return new Cpu();
    }

    /** The CUDA provider on device 0 with ONNX Runtime's defaults. */
    static Cuda cuda() {
        return new Cuda(0, CudnnConvAlgoSearch.EXHAUSTIVE, 0, false);
    }

    /** The TensorRT provider on device 0, fp16 enabled, no engine cache. */
    static TensorRt tensorRt() {
        return new TensorRt(0, true, null, null);
    }

    /** A short name for messages and logs. */
    String name();

    /** ONNX Runtime's CPU provider. */
    record Cpu() implements ExecutionProvider {
        @Override
        public String name() {
            return "CPU";
        }
    }

    /** How cuDNN picks convolution algorithms (ONNX Runtime's {@code cudnn_conv_algo_search}). */
    enum CudnnConvAlgoSearch {
        /** Benchmark every algorithm once per shape (ONNX Runtime's default; slow first run). */
        EXHAUSTIVE,
        /** cuDNN's heuristics, no benchmarking. */
        HEURISTIC,
        /** The default algorithm. */
        DEFAULT
    }

    /**
     * ONNX Runtime's CUDA provider.
     *
     * @param deviceId        the CUDA device ordinal, &ge; 0
     * @param convAlgoSearch  cuDNN's convolution algorithm search
     * @param memoryLimitBytes the provider's arena limit in bytes; 0 for no limit
     * @param cudaGraph       capture each model's run as a CUDA graph and replay it (ONNX Runtime's
     *                        {@code enable_cuda_graph}): removes the per-kernel launch cost when every
     *                        run has the same shapes; needs the {@code javacpp} engine, whose IOBinding
     *                        keeps inputs and outputs at fixed device addresses
     */
    record Cuda(int deviceId, CudnnConvAlgoSearch convAlgoSearch, long memoryLimitBytes, boolean cudaGraph)
            implements ExecutionProvider {
        public Cuda {
            if (deviceId < 0) {
                throw new InvalidRequestException("deviceId", deviceId, "is negative");
            }
            Objects.requireNonNull(convAlgoSearch, "convAlgoSearch");
            if (memoryLimitBytes < 0) {
                throw new InvalidRequestException("memoryLimitBytes", memoryLimitBytes, "is negative");
            }
        }

        public Cuda withDeviceId(int id) {
            return new Cuda(id, convAlgoSearch, memoryLimitBytes, cudaGraph);
        }

        public Cuda withConvAlgoSearch(CudnnConvAlgoSearch search) {
            return new Cuda(deviceId, search, memoryLimitBytes, cudaGraph);
        }

        public Cuda withMemoryLimitBytes(long bytes) {
            return new Cuda(deviceId, convAlgoSearch, bytes, cudaGraph);
        }

        public Cuda withCudaGraph(boolean enabled) {
            return new Cuda(deviceId, convAlgoSearch, memoryLimitBytes, enabled);
        }

        @Override
        public String name() {
            return "CUDA";
        }
    }

    /**
     * ONNX Runtime's TensorRT provider (with CUDA as its fallback for unsupported nodes).
     *
     * @param deviceId       the CUDA device ordinal, &ge; 0
     * @param fp16           let TensorRT build fp16 engines
     * @param engineCacheDir where built engines are cached between runs, or null for no cache
     * @param timingCacheDir where TensorRT's timing cache is kept, or null for none
     */
    record TensorRt(int deviceId, boolean fp16, Path engineCacheDir, Path timingCacheDir) implements ExecutionProvider {
        public TensorRt {
            if (deviceId < 0) {
                throw new InvalidRequestException("deviceId", deviceId, "is negative");
            }
        }

        public TensorRt withDeviceId(int id) {
            return new TensorRt(id, fp16, engineCacheDir, timingCacheDir);
        }

        public TensorRt withFp16(boolean enabled) {
            return new TensorRt(deviceId, enabled, engineCacheDir, timingCacheDir);
        }

        public TensorRt withEngineCacheDir(Path dir) {
            return new TensorRt(deviceId, fp16, dir, timingCacheDir);
        }

        public TensorRt withTimingCacheDir(Path dir) {
            return new TensorRt(deviceId, fp16, engineCacheDir, dir);
        }

        @Override
        public String name() {
            return "TensorRT";
        }
    }
}
