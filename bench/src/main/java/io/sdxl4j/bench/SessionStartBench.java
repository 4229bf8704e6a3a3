// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.EngineSession;
import io.sdxl4j.engine.Engines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * Opening one component's session (load, graph optimization, kernel set-up), as a pipeline does at
 * start-up: {@code cache=off} optimizes the graph every time; {@code cache=on} opens the graph
 * ONNX Runtime optimized and saved on an earlier open ({@link PipelineOptions#optimizedModelCache}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 6)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class SessionStartBench {

    @Param({"unet", "text_encoder_2", "vae_decoder"})
    public String component;

    @Param({"off", "on"})
    public String cache;

    private Path model;
    private Path cacheDir;
    private Engine engine;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        model = BenchModel.folder().resolve(component).resolve("model.onnx");
        cacheDir = Files.createTempDirectory("sdxl4j-ort-cache-");
        engine = Engines.create(PipelineOptions.builder().optimizedModelCache(cache.equals("on") ? cacheDir : null)
                .build());
        // Fill the cache: the measured opens find it.
        engine.open(model, component).close();
    }

    @Benchmark
    public void open() {
        engine.open(model, component).close();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        engine.close();
        try (Stream<Path> files = Files.walk(cacheDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
