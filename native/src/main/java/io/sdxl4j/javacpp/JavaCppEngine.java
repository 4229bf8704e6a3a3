// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_DISABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_BASIC;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_EXTENDED;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_ERROR;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.GraphOptimization;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.ModelSource;
import io.sdxl4j.engine.ReplacedWeights;
import io.sdxl4j.engine.OptimizedModelCache;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.TensorOps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.CUDAProviderOptions;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.StringStringMap;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TensorRTProviderOptions;
import org.bytedeco.onnxruntime.Value;
import org.bytedeco.onnxruntime.ValueVector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine on ONNX Runtime's C++ API through the JavaCPP preset ({@code org.bytedeco:onnxruntime}),
 * named {@code javacpp}. What it adds over {@code ort}: every input and output is bound once per
 * generation shape through an {@code IoBinding}, at fixed addresses, and on CUDA the bound tensors
 * live in device memory, which is what ONNX Runtime's CUDA graphs need ({@code enable_cuda_graph}:
 * the run is captured once and replayed, without launching each kernel again). ONNX Runtime Java
 * has no IOBinding (onnxruntime issue #26209).
 *
 * <p>On CUDA every session of the engine (the models' and the loop's kernel sessions) runs on one
 * CUDA stream of the engine's own (the provider's {@code user_compute_stream}), on which the host
 * copies go too, and no run ends with ONNX Runtime's wait for the stream: a denoising step queues
 * its work and the host waits only where it reads a result ({@link DeviceMemory}).
 *
 * <p>The engine owns its {@code Env}; each session owns its options and the native session.
 */
public final class JavaCppEngine implements Engine {

    private static final Logger LOG = LoggerFactory.getLogger(JavaCppEngine.class);

    /** The engine's name. */
    public static final String NAME = "javacpp";

    private static final String GPU_ARTIFACT = "org.bytedeco:onnxruntime:1.24.1-1.5.13, classifier linux-x86_64-gpu"
            + " (CUDA 13, cuDNN 9; Maven profile -Pcuda13), with org.bytedeco:cuda:13.1-9.19-1.5.13:linux-x86_64";

    private final String name;
    private final PipelineOptions options;
    private final Env env;
    /** The loop's arithmetic where the loop's tensors live in ONNX Runtime's memory; null for host memory. */
    private final OrtTensorOps residentOps;
    /**
     * The CUDA stream every session of this engine runs on (the provider's {@code user_compute_stream}),
     * so that the device loop's copies and runs are ordered without waits ({@link DeviceMemory}); 0
     * where the engine is not on CUDA.
     */
    private final long computeStream;
    private boolean closed;

    JavaCppEngine(PipelineOptions options) {
        this(NAME, options, false);
    }

    /**
     * @param name          the name it is registered under
     * @param residentOnCpu keep the loop's tensors in ONNX Runtime's memory and run its arithmetic
     *                      through the kernel sessions on the CPU too, as on CUDA (for tests and
     *                      benchmarks of the device path on machines without a GPU)
     */
    JavaCppEngine(String name, PipelineOptions options, boolean residentOnCpu) {
        this.name = name;
        this.options = options;
        requireProvider(options.provider(), availableProviders());
        this.env = new Env(ORT_LOGGING_LEVEL_ERROR, "sdxl4j");
        int device = deviceId(options.provider());
        if (device >= 0) {
            DeviceMemory transfers;
            try {
                transfers = DeviceMemory.cuda(device);
            } catch (RuntimeException | LinkageError e) {
                env.close();
                throw new SdxlException("provider: " + options.provider().name() + ": cannot open CUDA device " + device
                        + " through the CUDA runtime (" + e + "); it needs " + GPU_ARTIFACT, e);
            }
            computeStream = transfers.computeStream().orElse(0);
            residentOps = new OrtTensorOps(this::kernelSession,
                    new MemoryInfo("Cuda", OrtArenaAllocator, device, OrtMemTypeDefault), transfers);
        } else if (residentOnCpu) {
            computeStream = 0;
            residentOps = new OrtTensorOps(this::kernelSession, MemoryInfo.CreateCpu(OrtArenaAllocator,
                    OrtMemTypeDefault), DeviceMemory.host());
        } else {
            computeStream = 0;
            residentOps = null;
        }
    }

    /** The CUDA device of a GPU provider, -1 for the CPU. */
    static int deviceId(ExecutionProvider provider) {
        return switch (provider) {
            case ExecutionProvider.Cpu cpu -> -1;
            case ExecutionProvider.Cuda cuda -> cuda.deviceId();
            case ExecutionProvider.TensorRt trt -> trt.deviceId();
        };
    }

    /** ONNX Runtime's names of the execution providers this build has, e.g. {@code CPUExecutionProvider}. */
    public static List<String> availableProviders() {
        List<String> names = new ArrayList<>();
        try (StringVector v = org.bytedeco.onnxruntime.global.onnxruntime.GetAvailableProviders()) {
            for (long i = 0; i < v.size(); i++) {
                names.add(v.get(i).getString());
            }
        }
        return List.copyOf(names);
    }

    /** The runtime's version, e.g. {@code 1.24.1}. */
    public static String runtimeVersion() {
        return org.bytedeco.onnxruntime.global.onnxruntime.GetVersionString().getString();
    }

    static void requireProvider(ExecutionProvider provider, List<String> available) {
        List<String> needed = switch (provider) {
            case ExecutionProvider.Cpu cpu -> List.of();
            case ExecutionProvider.Cuda cuda -> List.of("CUDAExecutionProvider");
            case ExecutionProvider.TensorRt trt -> List.of("TensorrtExecutionProvider", "CUDAExecutionProvider");
        };
        for (String p : needed) {
            if (!available.contains(p)) {
                throw new SdxlException("provider: " + provider.name() + " needs ONNX Runtime's " + p
                        + ", which the ONNX Runtime of the javacpp engine does not have (it has " + available + ")"
                        + (p.startsWith("Tensorrt") ? "; the preset's builds have no TensorRT provider: use engine"
                        + " 'ort' with com.microsoft.onnxruntime:onnxruntime_gpu (CUDA 12, TensorRT 10)"
                        : "; it is in " + GPU_ARTIFACT));
            }
        }
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * On CUDA (and TensorRT) the operations on device tensors: the latents, the UNet's inputs and
     * output and the schedulers' state live in device memory for the whole loop. On the CPU the
     * host operations (the UNet binds the same host memory).
     */
    @Override
    public TensorOps ops() {
        return residentOps != null ? residentOps : HostTensorOps.INSTANCE;
    }

    @Override
    public String describe() {
        return name + " (ONNX Runtime " + runtimeVersion() + " C++ API, IOBinding, " + options.provider().name()
                + (options.provider() instanceof ExecutionProvider.Cuda c && c.cudaGraph() ? ", CUDA graphs" : "")
                + (residentOps != null ? ", device-resident loop" : "") + ")";
    }

    @Override
    public EngineSession open(ModelSource source, String label) {
        if (closed) {
            throw new IllegalStateException("engine closed");
        }
        return OptimizedModelCache.open(options, "onnxruntime-javacpp " + runtimeVersion(), source, label,
                (model, optimize, save) -> create(model, label, optimize, save));
    }

    /**
     * Replacement initializers go through the C++ API's {@code SessionOptions::AddInitializer}, each an
     * {@code Ort::Value} over the host tensor's memory; see {@link ModelSource}.
     */
    private EngineSession create(ModelSource source, String label, boolean optimize, OptimizedModelCache.Entry save) {
        Map<String, HostTensor> initializers = source.initializers();
        boolean graph = options.provider() instanceof ExecutionProvider.Cuda c && c.cudaGraph();
        try {
            try {
                return create(source, label, optimize, save, graph);
            } catch (SdxlException e) {
                if (!graph) {
                    throw e;
                }
                // ONNX Runtime captures a CUDA graph only when every node of the model runs on CUDA; a
                // model that keeps nodes on the CPU (shape arithmetic of some exports) fails to load
                // with it, and runs without.
                LOG.warn("{}: no CUDA graph for this model ({}); running it without", label, e.getMessage());
                return create(source, label, optimize, save, false);
            }
        } catch (RuntimeException e) {
            initializers.values().forEach(HostTensor::close);
            throw e;
        }
    }

    /** On success the session owns the source's initializers; on failure they stay the caller's. */
    private EngineSession create(ModelSource source, String label, boolean optimize, OptimizedModelCache.Entry save,
                                 boolean cudaGraph) {
        Map<String, HostTensor> initializers = source.initializers();
        List<Pointer> owned = new ArrayList<>();
        try {
            SessionOptions so = own(owned, new SessionOptions());
            byte[] graph = source.graph().orElse(null);
            if (!initializers.isEmpty()) {
                // Replacements become external initializers of the graph in memory, read before any
                // optimization (ReplacedWeights says why).
                graph = ReplacedWeights.graph(source, label);
                addExternalInitializers(so, owned, initializers);
            }
            configure(so, owned, optimize ? optLevel(options.graphOptimization()) : ORT_DISABLE_ALL, true, cudaGraph);
            if (save != null) {
                so.SetOptimizedModelFilePath(own(owned, new BytePointer(save.pending().toString())));
                so.AddConfigEntry(OptimizedModelCache.EXTERNAL_FILE_KEY, save.pendingData());
                so.AddConfigEntry(OptimizedModelCache.EXTERNAL_MIN_SIZE_KEY, "1024");
            }
            Session session;
            if (graph != null) {
                so.AddConfigEntry(ModelSource.EXTERNAL_DATA_FOLDER_KEY, source.externalDataFolder().toString());
                try (BytePointer bytes = new BytePointer(graph)) {
                    session = new Session(env, bytes, graph.length, so);
                }
            } else {
                try (BytePointer path = new BytePointer(source.file().toString())) {
                    session = new Session(env, path, so);
                }
            }
            // The session closes first, then the values over the tensors, then the tensors and options.
            List<AutoCloseable> resources = new ArrayList<>(initializers.values());
            resources.addAll(owned);
            return new JavaCppSession(session, label, residentOps, cudaGraph, options.arenaShrinkage(), resources);
        } catch (RuntimeException e) {
            Natives.closeAll(owned);
            // JavaCPP turns Ort::Exception into RuntimeException with ONNX Runtime's message.
            throw e instanceof SdxlException s ? s
                    : new SdxlException(label + ": cannot load the ONNX model " + source + ": " + e.getMessage(), e);
        }
    }

    /**
     * Hands each tensor to the options as the data of an external initializer, an {@code OrtValue}
     * over its own memory (no copy): ONNX Runtime reads it in place, so the memory lives as long as
     * the session.
     */
    private static void addExternalInitializers(SessionOptions so, List<Pointer> owned,
                                                Map<String, HostTensor> initializers) {
        MemoryInfo cpu = own(owned, MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault));
        StringVector names = own(owned, new StringVector());
        ValueVector values = own(owned, new ValueVector());
        for (Map.Entry<String, HostTensor> e : initializers.entrySet()) {
            HostTensor t = e.getValue();
            long[] shape = t.shape();
            try (LongPointer dims = new LongPointer(Math.max(shape.length, 1))) {
                if (shape.length > 0) {
                    dims.put(shape);
                }
                Pointer data = own(owned, new Pointer(t.byteBuffer()));
                Value v = Value.CreateTensor(cpu.asOrtMemoryInfo(), data, t.byteBuffer().remaining(), dims,
                        shape.length, Natives.elementType(t.dataType()));
                names.push_back(e.getKey());
                values.push_back(v); // the vector owns the value from here on
            }
        }
        so.AddExternalInitializers(names, values);
    }

    /**
     * A session of a kernel graph ({@link Kernel}) on the engine's provider: no graph optimization
     * (the graphs are as small as they can be, and must round as the host code does), no CUDA graph
     * (a graph of one or two element-wise kernels saves nothing, and each binding would need a
     * graph of its own), and CUDA where the models run on TensorRT.
     */
    private Session kernelSession(byte[] model) {
        if (closed) {
            throw new IllegalStateException("engine closed");
        }
        List<Pointer> owned = new ArrayList<>();
        try (SessionOptions so = new SessionOptions(); BytePointer bytes = new BytePointer(model)) {
            configure(so, owned, ORT_DISABLE_ALL, false, false);
            return new Session(env, bytes, model.length, so);
        } finally {
            Natives.closeAll(owned);
        }
    }

    /**
     * Session options from the pipeline options. With {@code forModels} false (kernel sessions)
     * TensorRT is replaced by CUDA.
     */
    private void configure(SessionOptions so, List<Pointer> owned, int optimizationLevel, boolean forModels,
                           boolean cudaGraph) {
        so.SetGraphOptimizationLevel(optimizationLevel);
        if (options.memoryPattern()) {
            so.EnableMemPattern();
        } else {
            so.DisableMemPattern();
        }
        if (options.cpuArena()) {
            so.EnableCpuMemArena();
        } else {
            so.DisableCpuMemArena();
        }
        if (options.intraOpThreads() > 0) {
            so.SetIntraOpNumThreads(options.intraOpThreads());
        }
        if (options.interOpThreads() > 0) {
            so.SetInterOpNumThreads(options.interOpThreads());
        }
        switch (options.provider()) {
            case ExecutionProvider.Cpu cpu -> {
            }
            case ExecutionProvider.Cuda cuda -> appendCuda(so, owned, cuda.deviceId(), cuda.convAlgoSearch(),
                    cuda.memoryLimitBytes(), cudaGraph, computeStream);
            case ExecutionProvider.TensorRt trt when !forModels -> appendCuda(so, owned, trt.deviceId(),
                    ExecutionProvider.CudnnConvAlgoSearch.HEURISTIC, 0, false, computeStream);
            case ExecutionProvider.TensorRt trt -> {
                TensorRTProviderOptions o = own(owned, new TensorRTProviderOptions());
                try (StringStringMap m = new StringStringMap()) {
                    m.put(own(owned, new BytePointer("device_id")), Integer.toString(trt.deviceId()));
                    m.put(own(owned, new BytePointer("trt_fp16_enable")), trt.fp16() ? "1" : "0");
                    if (computeStream != 0) {
                        m.put(own(owned, new BytePointer("has_user_compute_stream")), "1");
                        m.put(own(owned, new BytePointer("user_compute_stream")), Long.toUnsignedString(computeStream));
                    }
                    if (trt.engineCacheDir() != null) {
                        m.put(own(owned, new BytePointer("trt_engine_cache_enable")), "1");
                        m.put(own(owned, new BytePointer("trt_engine_cache_path")),
                                trt.engineCacheDir().toAbsolutePath().toString());
                    }
                    if (trt.timingCacheDir() != null) {
                        m.put(own(owned, new BytePointer("trt_timing_cache_enable")), "1");
                        m.put(own(owned, new BytePointer("trt_timing_cache_path")),
                                trt.timingCacheDir().toAbsolutePath().toString());
                    }
                    o.Update(m);
                }
                so.AppendExecutionProvider_TensorRT_V2(o.asOrtTensorRTProviderOptionsV2());
                // Nodes TensorRT cannot take fall back to CUDA, then to the CPU.
                appendCuda(so, owned, trt.deviceId(), ExecutionProvider.CudnnConvAlgoSearch.EXHAUSTIVE, 0, false,
                        computeStream);
            }
        }
    }

    /**
     * @param stream the engine's CUDA stream (see {@link #computeStream}), which the session then runs
     *               on instead of a stream of its own; 0 for none. The CUDA provider captures and
     *               replays its CUDA graphs on this stream too.
     */
    private static void appendCuda(SessionOptions so, List<Pointer> owned, int deviceId,
                                   ExecutionProvider.CudnnConvAlgoSearch search, long memoryLimit, boolean graph,
                                   long stream) {
        CUDAProviderOptions o = own(owned, new CUDAProviderOptions());
        try (StringStringMap m = new StringStringMap()) {
            m.put(own(owned, new BytePointer("device_id")), Integer.toString(deviceId));
            if (stream != 0) {
                m.put(own(owned, new BytePointer("has_user_compute_stream")), "1");
                m.put(own(owned, new BytePointer("user_compute_stream")), Long.toUnsignedString(stream));
            }
            m.put(own(owned, new BytePointer("cudnn_conv_algo_search")), search.name());
            if (memoryLimit > 0) {
                m.put(own(owned, new BytePointer("gpu_mem_limit")), Long.toString(memoryLimit));
            }
            m.put(own(owned, new BytePointer("enable_cuda_graph")), graph ? "1" : "0");
            o.Update(m);
        }
        so.AppendExecutionProvider_CUDA_V2(o.asOrtCUDAProviderOptionsV2());
    }

    static int optLevel(GraphOptimization level) {
        return switch (level) {
            case DISABLED -> ORT_DISABLE_ALL;
            case BASIC -> ORT_ENABLE_BASIC;
            case EXTENDED -> ORT_ENABLE_EXTENDED;
            case ALL -> ORT_ENABLE_ALL;
        };
    }

    private static <T extends Pointer> T own(List<Pointer> owned, T p) {
        owned.add(p);
        return p;
    }

    /**
     * Sessions and tensors close themselves (each before the engine); then the kernel sessions and
     * the environment go. May be called twice.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (residentOps != null) {
            residentOps.close();
        }
        env.close();
    }
}
