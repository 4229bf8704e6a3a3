// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_WARNING;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.OrtDnnlProviderOptions;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.Value;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link MatrixRateBench}'s products on ONNX Runtime's oneDNN execution provider, which the JavaCPP
 * preset's build ({@code org.bytedeco:onnxruntime}, with {@code libonnxruntime_providers_dnnl})
 * has and the Maven Central CPU jar of ONNX Runtime Java has not: fp32 and bf16 {@code MatMul}
 * (bf16 between casts, the weight stored in bf16: oneDNN runs it on AMX-BF16 where the CPU has it)
 * and fp32 {@code Conv} (ONNX's {@code Conv} has no bfloat16 type: a model with one does not load). Through the JavaCPP C++ API directly (sdxl4j's engines do not append this
 * provider), session optimization ALL, one IoBinding over host tensors.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class DnnlRateBench {

    @Param({"fp32", "bf16", "conv-fp32"})
    public String kind;

    private Env env;
    private SessionOptions options;
    private OrtDnnlProviderOptions dnnl;
    private Session session;
    private MemoryInfo cpu;
    private FloatPointer x;
    private FloatPointer y;
    private Value xv;
    private Value yv;
    private IoBinding io;
    private RunOptions run;

    @Setup(Level.Trial)
    public void setUp() {
        byte[] model = MatrixRateBench.model(kind).toByteArray();
        env = new Env(ORT_LOGGING_LEVEL_WARNING, "sdxl4j-dnnl");
        options = new SessionOptions();
        options.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
        dnnl = new OrtDnnlProviderOptions();
        dnnl.use_arena(1);
        options.AppendExecutionProvider_Dnnl(dnnl);
        try (BytePointer bytes = new BytePointer(model)) {
            session = new Session(env, bytes, model.length, options);
        }
        boolean conv = kind.startsWith("conv");
        long[] xs = conv ? new long[] {1, MatrixRateBench.CONV_C, MatrixRateBench.CONV_HW, MatrixRateBench.CONV_HW}
                : new long[] {MatrixRateBench.M, MatrixRateBench.K};
        long[] ys = conv ? xs : new long[] {MatrixRateBench.M, MatrixRateBench.N};
        x = new FloatPointer(count(xs));
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < count(xs); i++) {
            x.put(i, (float) r.nextGaussian());
        }
        y = new FloatPointer(count(ys));
        cpu = MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        xv = tensor(x, xs);
        yv = tensor(y, ys);
        io = new IoBinding(session);
        io.BindInput("x", xv);
        io.BindOutput("y", yv);
        run = new RunOptions();
    }

    private Value tensor(FloatPointer data, long[] shape) {
        try (LongPointer dims = new LongPointer(shape)) {
            return Value.CreateTensor(cpu.asOrtMemoryInfo(), data, 4 * count(shape), dims, shape.length,
                    ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
        }
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** One product on the oneDNN provider. */
    @Benchmark
    public void product() {
        session.Run(run, io);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        run.close();
        io.close();
        session.close();
        xv.close();
        yv.close();
        cpu.close();
        x.close();
        y.close();
        options.close();
        dnnl.close();
        env.close();
    }
}
