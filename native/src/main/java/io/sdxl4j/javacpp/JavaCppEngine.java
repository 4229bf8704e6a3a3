// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_DISABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_BASIC;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_EXTENDED;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_ERROR;

import io.sdxl4j.ExecutionProvider;
import io.sdxl4j.GraphOptimization;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.OptimizedModelCache;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.TensorOps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.CUDAProviderOptions;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.StringStringMap;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TensorRTProviderOptions;

/**
 * The engine on ONNX Runtime's C++ API through the JavaCPP preset ({@code org.bytedeco:onnxruntime}),
 * named {@code javacpp}. What it adds over {@code ort}: every input and output is bound once per
 * generation shape through an {@code IoBinding}, at fixed addresses, and on CUDA the bound tensors
 * live in device memory, which is what ONNX Runtime's CUDA graphs need ({@code enable_cuda_graph}:
 * the run is captured once and replayed, without launching each kernel again). ONNX Runtime Java
 * has no IOBinding (onnxruntime issue #26209).
 *
 * <p>The engine owns its {@code Env}; each session owns its options and the native session.
 */
public final class JavaCppEngine implements Engine {

    /** The engine's name. */
    public static final String NAME = "javacpp";

    private static final String GPU_ARTIFACT = "org.bytedeco:onnxruntime:1.24.1-1.5.13, classifier linux-x86_64-gpu"
            + " (CUDA 13, cuDNN 9; Maven profile -Pcuda13), with org.bytedeco:cuda:13.1-9.19-1.5.13:linux-x86_64";

    private final PipelineOptions options;
    private final Env env;
    private final List<String> providers;
    private boolean closed;

    JavaCppEngine(PipelineOptions options) {
        this.options = options;
        this.providers = availableProviders();
        requireProvider(options.provider(), providers);
        this.env = new Env(ORT_LOGGING_LEVEL_ERROR, "sdxl4j");
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
        return NAME;
    }

    @Override
    public TensorOps ops() {
        return HostTensorOps.INSTANCE;
    }

    @Override
    public String describe() {
        return NAME + " (ONNX Runtime " + runtimeVersion() + " C++ API, IOBinding, " + options.provider().name()
                + (options.provider() instanceof ExecutionProvider.Cuda c && c.cudaGraph() ? ", CUDA graphs" : "")
                + ")";
    }

    @Override
    public EngineSession open(Path file, String label) {
        if (closed) {
            throw new IllegalStateException("engine closed");
        }
        if (!Files.isRegularFile(file)) {
            throw new SdxlException(label + ": file not found (" + file + ")");
        }
        if (options.optimizedModelCache().isPresent()) {
            return new OptimizedModelCache(options.optimizedModelCache().get(), "onnxruntime-javacpp "
                    + runtimeVersion() + "|" + options.provider() + "|" + options.graphOptimization())
                    .open(file, label, (model, optimize, save) -> create(model, label, optimize, save));
        }
        return create(file, label, true, null);
    }

    private EngineSession create(Path file, String label, boolean optimize, OptimizedModelCache.Entry save) {
        List<Pointer> owned = new ArrayList<>();
        try {
            SessionOptions so = own(owned, new SessionOptions());
            configure(so, owned, optimize);
            if (save != null) {
                so.SetOptimizedModelFilePath(own(owned, new BytePointer(save.pending().toString())));
                so.AddConfigEntry(OptimizedModelCache.EXTERNAL_FILE_KEY, save.pendingData());
                so.AddConfigEntry(OptimizedModelCache.EXTERNAL_MIN_SIZE_KEY, "1024");
            }
            Session session;
            try (BytePointer path = new BytePointer(file.toString())) {
                session = new Session(env, path, so);
            }
            return new JavaCppSession(session, label, options.provider(), owned);
        } catch (RuntimeException e) {
            Natives.closeAll(owned);
            // JavaCPP turns Ort::Exception into RuntimeException with ONNX Runtime's message.
            throw e instanceof SdxlException s ? s
                    : new SdxlException(label + ": cannot load the ONNX model " + file + ": " + e.getMessage(), e);
        }
    }

    private void configure(SessionOptions so, List<Pointer> owned, boolean optimize) {
        so.SetGraphOptimizationLevel(optimize ? optLevel(options.graphOptimization()) : ORT_DISABLE_ALL);
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
                    cuda.memoryLimitBytes(), cuda.cudaGraph());
            case ExecutionProvider.TensorRt trt -> {
                TensorRTProviderOptions o = own(owned, new TensorRTProviderOptions());
                try (StringStringMap m = new StringStringMap()) {
                    m.put(own(owned, new BytePointer("device_id")), Integer.toString(trt.deviceId()));
                    m.put(own(owned, new BytePointer("trt_fp16_enable")), trt.fp16() ? "1" : "0");
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
                appendCuda(so, owned, trt.deviceId(), ExecutionProvider.CudnnConvAlgoSearch.EXHAUSTIVE, 0, false);
            }
        }
    }

    private static void appendCuda(SessionOptions so, List<Pointer> owned, int deviceId,
                                   ExecutionProvider.CudnnConvAlgoSearch search, long memoryLimit, boolean graph) {
        CUDAProviderOptions o = own(owned, new CUDAProviderOptions());
        try (StringStringMap m = new StringStringMap()) {
            m.put(own(owned, new BytePointer("device_id")), Integer.toString(deviceId));
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

    /** Sessions close themselves (each before the engine); then the environment goes. May be called twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        env.close();
    }
}
