// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.GraphOptimization;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.TensorOps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

/**
 * The engine on ONNX Runtime Java ({@code ai.onnxruntime}), named {@code ort}: host tensors bound
 * zero-copy as inputs (direct buffers) and as pre-allocated outputs. Every session shares ONNX
 * Runtime's one process-wide environment.
 */
final class OrtEngine implements Engine {

    /** The engine's name. */
    public static final String NAME = "ort";

    private static final String GPU_ARTIFACTS = "com.microsoft.onnxruntime:onnxruntime_gpu:1.29.0 (CUDA 12, cuDNN 9,"
            + " TensorRT 10; Maven profile -Pcuda12) or the CUDA 13 build of org.bytedeco:onnxruntime:1.24.1-1.5.13"
            + " (classifier linux-x86_64-gpu), in place of com.microsoft.onnxruntime:onnxruntime; never two ONNX"
            + " Runtime jars on one class path";

    private final OrtEnvironment env;
    private final PipelineOptions options;
    private boolean closed;

    OrtEngine(PipelineOptions options) {
        this.options = options;
        // The environment is a singleton per process in ONNX Runtime Java; the first caller sets its log level.
        this.env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "sdxl4j");
        requireProvider(options.provider());
        if (options.arenaShrinkage()) {
            shrinkingRunOptions("arenaShrinkage").close(); // refused now, at load, where it cannot be set
        }
    }

    /**
     * Run options with ONNX Runtime's {@code memory.enable_memory_arena_shrinkage} for the CPU arena.
     *
     * @throws SdxlException naming {@code arenaShrinkage} where the ai.onnxruntime classes cannot make
     *                       run options (the JavaCPP preset's copy has no native code for them)
     */
    static OrtSession.RunOptions shrinkingRunOptions(String label) {
        try {
            OrtSession.RunOptions options = new OrtSession.RunOptions();
            try {
                options.addRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
                return options;
            } catch (OrtException | RuntimeException e) {
                options.close();
                throw e;
            }
        } catch (OrtException | RuntimeException | LinkageError e) {
            throw new SdxlException(label + ": arenaShrinkage needs ONNX Runtime Java's run options, which the"
                    + " ai.onnxruntime classes on the class path cannot make (the JavaCPP preset's copy, with"
                    + " sdxl4j-native, has no native code for them): use engine 'javacpp', or leave arenaShrinkage"
                    + " off (" + e + ")", e);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TensorOps ops() {
        return HostTensorOps.INSTANCE;
    }

    @Override
    public String describe() {
        return NAME + " (ONNX Runtime " + version() + ", " + options.provider().name() + ")";
    }

    /**
     * The runtime's version. The JavaCPP preset's copy of these classes (the native module's class
     * path) does not record it, so there the jar they came from stands in.
     */
    private String version() {
        String v = env.getVersion();
        if (v != null) {
            return v;
        }
        var source = OrtEnvironment.class.getProtectionDomain().getCodeSource();
        return "unrecorded, from " + (source == null ? "an unknown jar" : source.getLocation());
    }

    @Override
    public EngineSession open(ModelSource source, String label) {
        if (closed) {
            throw new IllegalStateException("engine closed");
        }
        return OptimizedModelCache.open(options, "onnxruntime " + version(), source, label,
                (model, optimize, save) -> create(model, label, optimize, save));
    }

    /**
     * Opens a session on {@code file}, optimizing its graph (or not: a cached graph is optimized
     * already), and saving the optimized graph to {@code save} when given. Replacement initializers
     * become external initializers of the graph in memory ({@link ReplacedWeights}).
     */
    private EngineSession create(ModelSource source, String label, boolean optimize, OptimizedModelCache.Entry save) {
        Map<String, HostTensor> initializers = source.initializers();
        List<AutoCloseable> owned = new ArrayList<>();
        // The replacement tensors belong to the session from here on; their OnnxTensors (over the same
        // memory, which ONNX Runtime reads in place) close before them.
        owned.addAll(initializers.values());
        OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
        owned.add(0, sessionOptions);
        try {
            byte[] graph = source.graph().orElse(null);
            if (!initializers.isEmpty()) {
                graph = ReplacedWeights.graph(source, label);
                Map<String, OnnxTensor> external = new java.util.LinkedHashMap<>();
                for (Map.Entry<String, HostTensor> e : initializers.entrySet()) {
                    OnnxTensor t = OrtEngineSession.wrap(env, e.getValue());
                    owned.add(t);
                    external.put(e.getKey(), t);
                }
                sessionOptions.addExternalInitializers(new java.util.LinkedHashMap<>(external));
            }
            configure(sessionOptions, owned, optimize);
            if (save != null) {
                sessionOptions.setOptimizedModelFilePath(save.pending().toString());
                sessionOptions.addConfigEntry(OptimizedModelCache.EXTERNAL_FILE_KEY, save.pendingData());
                sessionOptions.addConfigEntry(OptimizedModelCache.EXTERNAL_MIN_SIZE_KEY, "1024");
            }
            OrtSession session;
            if (graph != null) {
                sessionOptions.addConfigEntry(ModelSource.EXTERNAL_DATA_FOLDER_KEY, source.externalDataFolder().toString());
                session = env.createSession(graph, sessionOptions);
            } else {
                session = env.createSession(source.file().toString(), sessionOptions);
            }
            return new OrtEngineSession(env, session, label, owned, options.arenaShrinkage());
        } catch (OrtException | RuntimeException e) {
            closeAll(owned);
            throw new SdxlException(label + ": cannot load the ONNX model " + source + ": " + e.getMessage(), e);
        }
    }

    private void configure(OrtSession.SessionOptions so, List<AutoCloseable> owned, boolean optimize)
            throws OrtException {
        so.setOptimizationLevel(optimize ? optLevel(options.graphOptimization())
                : OrtSession.SessionOptions.OptLevel.NO_OPT);
        so.setMemoryPatternOptimization(options.memoryPattern());
        so.setCPUArenaAllocator(options.cpuArena());
        if (options.intraOpThreads() > 0) {
            so.setIntraOpNumThreads(options.intraOpThreads());
        }
        if (options.interOpThreads() > 0) {
            so.setInterOpNumThreads(options.interOpThreads());
        }
        switch (options.provider()) {
            case ExecutionProvider.Cpu cpu -> {
            }
            case ExecutionProvider.Cuda cuda -> {
                OrtCUDAProviderOptions o = new OrtCUDAProviderOptions(cuda.deviceId());
                owned.add(o);
                o.add("cudnn_conv_algo_search", cuda.convAlgoSearch().name());
                if (cuda.memoryLimitBytes() > 0) {
                    o.add("gpu_mem_limit", Long.toString(cuda.memoryLimitBytes()));
                }
                so.addCUDA(o);
            }
            case ExecutionProvider.TensorRt trt -> {
                OrtTensorRTProviderOptions o = new OrtTensorRTProviderOptions(trt.deviceId());
                owned.add(o);
                o.add("trt_fp16_enable", trt.fp16() ? "1" : "0");
                if (trt.engineCacheDir() != null) {
                    o.add("trt_engine_cache_enable", "1");
                    o.add("trt_engine_cache_path", trt.engineCacheDir().toAbsolutePath().toString());
                }
                if (trt.timingCacheDir() != null) {
                    o.add("trt_timing_cache_enable", "1");
                    o.add("trt_timing_cache_path", trt.timingCacheDir().toAbsolutePath().toString());
                }
                so.addTensorrt(o);
                // Nodes TensorRT cannot take fall back to CUDA, then to the CPU.
                OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(trt.deviceId());
                owned.add(cuda);
                so.addCUDA(cuda);
            }
        }
    }

    /**
     * Fails when the ONNX Runtime on the class path lacks the provider, naming the artifact that
     * has it.
     */
    static void requireProvider(ExecutionProvider provider) {
        if (provider instanceof ExecutionProvider.Cuda cuda && cuda.cudaGraph()) {
            throw new SdxlException("provider: CUDA graphs need inputs and outputs bound at fixed device"
                    + " addresses (IOBinding), which ONNX Runtime Java lacks; use engine 'javacpp'"
                    + " (io.sdxl4j:sdxl4j-native)");
        }
        EnumSet<OrtProvider> available;
        try {
            available = OrtEnvironment.getAvailableProviders();
        } catch (NullPointerException e) {
            // The JavaCPP preset's copy of these classes (on the class path with sdxl4j-native) loads
            // ONNX Runtime through JavaCPP and leaves the provider list and the provider-library
            // extraction unset: there the ort engine runs on the CPU only.
            if (provider instanceof ExecutionProvider.Cpu) {
                return;
            }
            throw new SdxlException("provider: " + provider.name() + " with engine 'ort' needs Microsoft's ONNX"
                    + " Runtime Java jar; the class path has the JavaCPP preset's copy of its classes"
                    + " (sdxl4j-native), whose providers the javacpp engine uses: use engine 'javacpp'");
        }
        List<OrtProvider> needed = switch (provider) {
            case ExecutionProvider.Cpu cpu -> List.of();
            case ExecutionProvider.Cuda cuda -> List.of(OrtProvider.CUDA);
            case ExecutionProvider.TensorRt trt -> List.of(OrtProvider.TENSOR_RT, OrtProvider.CUDA);
        };
        for (OrtProvider p : needed) {
            if (!available.contains(p)) {
                throw new SdxlException("provider: " + provider.name() + " needs ONNX Runtime's " + p.getName()
                        + ", which the ONNX Runtime on the class path does not have (it has " + available
                        + "); it is in " + GPU_ARTIFACTS);
            }
        }
    }

    static OrtSession.SessionOptions.OptLevel optLevel(GraphOptimization level) {
        return switch (level) {
            case DISABLED -> OrtSession.SessionOptions.OptLevel.NO_OPT;
            case BASIC -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
            case EXTENDED -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
            case ALL -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
        };
    }

    static void closeAll(List<AutoCloseable> resources) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception ignored) {
                // Closing native handles of a failed load; the original error is what matters.
            }
        }
        resources.clear();
    }

    /** Sessions close themselves; the shared environment stays for other pipelines. */
    @Override
    public void close() {
        closed = true;
    }
}
