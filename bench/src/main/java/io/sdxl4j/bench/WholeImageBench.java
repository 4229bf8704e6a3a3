// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.SdxlPipeline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
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
 * One whole image as a user gets it: both text encoders, 30 Euler steps with guidance, the VAE
 * decoder, the PNG-ready pixels. At the end of the trial the fork prints its peak resident memory
 * (VmHWM) beside the model's size on disk.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class WholeImageBench {

    @Param({"512", "1024"})
    public int size;

    @Param({"30"})
    public int steps;

    /** The engine, by its registered name; the provider comes from {@code -Dsdxl4j.provider}. */
    @Param({"ort"})
    public String engine;

    private Path dir;
    private SdxlPipeline pipeline;
    private GenerationRequest request;

    @Setup(Level.Trial)
    public void setUp() {
        dir = BenchModel.folder();
        pipeline = SdxlPipeline.load(dir, BenchModel.options(engine));
        request = GenerationRequest.builder("a photo of an astronaut riding a horse on the moon")
                .negativePrompt("blurry").width(size).height(size).steps(steps).seed(42).build();
    }

    @Benchmark
    public GenerationResult image() {
        return pipeline.generate(request);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        pipeline.close();
        System.out.printf(Locale.ROOT, "%nsdxl4j: peak resident memory %.0f MiB; model files %.0f MiB%n",
                peakResidentBytes() / 1048576.0, folderBytes(dir) / 1048576.0);
    }

    /** VmHWM of this process (Linux), 0 elsewhere. */
    static long peakResidentBytes() throws IOException {
        return Math.max(0, procStatusKib("VmHWM")) * 1024;
    }

    /** A field of /proc/self/status in KiB (Linux), -1 elsewhere. */
    static long procStatusKib(String field) throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return -1;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }

    static long folderBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
