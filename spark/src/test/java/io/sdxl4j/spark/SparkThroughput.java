// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.SdxlPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

/**
 * The cost of Spark on one machine: images per minute of the batch job on {@code local[2]} against
 * one pipeline generating the same requests in a loop, both on the CPU with the executor's two
 * threads, both writing PNG files. Not a JMH benchmark (a Spark job is not a method to call in a
 * loop) and not a test: a program, run as {@code bench/RESULTS.md} ("Spark batch job") says.
 *
 * <p>System properties: {@code sdxl4j.model} (default: the tiny conformance model under
 * {@code sdxl4j.conformance.dir}), {@code images} (default 40), {@code size} (default 64),
 * {@code steps} (default 4), {@code rounds} (default 3: each side is measured this many times
 * after a warm-up round, the best round reported).
 */
public final class SparkThroughput {

    private SparkThroughput() {
    }

    public static void main(String[] args) throws Exception {
        String modelProp = System.getProperty("sdxl4j.model");
        Path model = modelProp != null ? Path.of(modelProp)
                : Path.of(System.getProperty("sdxl4j.conformance.dir", "conformance")).resolve("models/sdxl-tiny");
        int images = Integer.getInteger("images", 40);
        int size = Integer.getInteger("size", 64);
        int steps = Integer.getInteger("steps", 4);
        int rounds = Integer.getInteger("rounds", 3);
        ObjectMapper json = new ObjectMapper();
        Path out = Files.createTempDirectory("sdxl4j-spark-throughput");

        List<String> lines = new ArrayList<>();
        String[] schedulers = {"euler", "euler_a", "dpmpp_2m", "ddim"};
        for (int i = 0; i < images; i++) {
            lines.add(json.createObjectNode().put("id", String.format("img%04d", i)).put("prompt", "a lighthouse " + i)
                    .put("width", size).put("height", size).put("steps", steps).put("seed", i)
                    .put("scheduler", schedulers[i % schedulers.length]).toString());
        }
        BatchOptions options = BatchOptions.builder().modelDir(model).outputDir(out.resolve("spark").toUri().toString())
                .build();

        // One pipeline in a loop: the same requests, the same options as a local[2] executor's pipeline.
        List<GenerationRequest> requests = new ArrayList<>();
        for (String line : lines) {
            requests.add(BatchRequest.parse(line, v -> java.util.Optional.empty()).request());
        }
        double loopBest = Double.MAX_VALUE;
        try (SdxlPipeline pipeline = SdxlPipeline.load(model, options.pipelineOptions(-1, 2, 2))) {
            Path dir = Files.createDirectories(out.resolve("loop"));
            for (int r = 0; r <= rounds; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < requests.size(); i++) {
                    Files.write(dir.resolve(String.format("img%04d.png", i)),
                            pipeline.generate(requests.get(i)).image().toPng());
                }
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "loop  round %d: %.2f s%n", r, s);
                if (r > 0) {
                    loopBest = Math.min(loopBest, s);
                }
            }
        }

        double sparkBest = Double.MAX_VALUE;
        SparkSession spark = SparkSession.builder().master("local[2]").appName("SparkThroughput")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            SdxlBatch batch = SdxlBatch.create(spark, options);
            for (int r = 0; r <= rounds; r++) {
                long t0 = System.nanoTime();
                long n = batch.generateJson(spark.createDataset(lines, Encoders.STRING())).count();
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "spark round %d: %.2f s (%d rows)%n", r, s, n);
                if (r > 0) {
                    sparkBest = Math.min(sparkBest, s);
                }
            }
        } finally {
            spark.stop();
            PipelineHolder.closeAll();
        }
        double loopRate = images * 60 / loopBest;
        double sparkRate = images * 60 / sparkBest;
        System.out.printf(Locale.ROOT, "%d images %dx%d, %d steps: loop %.1f images/min, spark local[2] %.1f images/min,"
                + " ratio spark/loop %.3f%n", images, size, size, steps, loopRate, sparkRate, sparkRate / loopRate);
    }
}
