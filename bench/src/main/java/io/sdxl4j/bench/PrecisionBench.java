// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.model.Component;
import io.sdxl4j.model.GraphRewrite;
import io.sdxl4j.model.Int8Weights;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.model.ModelGraphs;
import io.sdxl4j.tensor.HostTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
 * Each component's call under each {@link Precision}, in one run so the ratios against fp32 share
 * the machine's state: the UNet call at 512² with guidance (batch 2, bound as the pipeline binds
 * it, {@code PipelineOptions.precision} applied), the VAE decoder at 512² and the second text
 * encoder (the larger; its sessions opened on the graph {@link Int8Weights} makes of it, with
 * {@code INT8_CONV} converting the VAE's convolutions too). The model is {@link BenchModel}'s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class PrecisionBench {

    @Param({"unet", "vae_decoder", "text_encoder_2"})
    public String component;

    @Param({"FP32", "INT8", "INT8_CONV"})
    public Precision precision;

    @Param({"512"})
    public int size;

    private StepFixture step;
    private Engine engine;
    private EngineSession session;
    private HostTensor input;
    private HostTensor output;
    private Binding binding;

    @Setup(Level.Trial)
    public void setUp() {
        PipelineOptions options = PipelineOptions.builder().precision(precision).build();
        if (component.equals("unet")) {
            step = new StepFixture(new BenchModel(options), size, 30);
            return;
        }
        ModelFolder folder = ModelFolder.open(BenchModel.folder());
        Component c = component.equals("vae_decoder") ? Component.VAE_DECODER : Component.TEXT_ENCODER_2;
        Path file = folder.onnx(c);
        List<GraphRewrite> rewrites = precision.int8()
                ? List.of(Int8Weights.rewrite(file, c.label(), precision == Precision.INT8_CONV)) : List.of();
        engine = Engines.create(options);
        session = engine.open(ModelGraphs.source(file, c.label(), rewrites), c.label());
        TensorSpec in = session.inputs().get(0);
        TensorSpec out = c == Component.VAE_DECODER ? session.outputs().get(0)
                : session.output("text_embeds").orElse(session.outputs().get(0));
        int latent = size / folder.vae().scaleFactor();
        input = c == Component.VAE_DECODER ? HostTensor.floats(1, in.dim(1) > 0 ? in.dim(1) : 4, latent, latent)
                : HostTensor.allocate(in.dataType(), 1, 77);
        SplittableRandom r = new SplittableRandom(3);
        if (c == Component.VAE_DECODER) {
            for (int i = 0; i < input.size(); i++) {
                input.floatBuffer().put(i, (float) r.nextGaussian());
            }
        } else {
            for (int i = 0; i < 77; i++) {
                int id = i == 0 ? 49406 : i < 12 ? 320 + r.nextInt(1000) : 49407;
                if (input.dataType() == io.sdxl4j.tensor.DataType.INT64) {
                    input.longBuffer().put(i, id);
                } else {
                    input.intBuffer().put(i, id);
                }
            }
        }
        long[] shape = out.shape().clone();
        shape[0] = 1;
        if (c == Component.VAE_DECODER) {
            shape[1] = 3;
            shape[2] = size;
            shape[3] = size;
        } else if (shape.length == 3) {
            shape[1] = 77;
        }
        output = HostTensor.floats(shape);
        binding = session.bind(Map.of(in.name(), input), Map.of(out.name(), output));
    }

    /** One call of the component. */
    @Benchmark
    public void call() {
        if (step != null) {
            step.ws.unet.run();
        } else {
            binding.run();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (step != null) {
            step.close();
            return;
        }
        binding.close();
        input.close();
        output.close();
        session.close();
        engine.close();
    }
}
