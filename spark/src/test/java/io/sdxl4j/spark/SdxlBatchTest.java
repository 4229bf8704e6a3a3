// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.GeneratedImage;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.SdxlPipeline;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batch job on Spark in this JVM ({@code local[2,2]}: two task threads, a task may fail once
 * and run again) with the tiny conformance model: its images against the single-process pipeline's,
 * a task failed on purpose, one pipeline per JVM, LoRA sets grouped and honored.
 */
class SdxlBatchTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] SCHEDULERS = {"euler", "euler_a", "ddim", "dpmpp_2m", "unipc", "heun", "lms",
        "dpmpp_2m_karras"};
    private static final int[][] SIZES = {{32, 32}, {64, 32}, {32, 64}, {64, 64}, {48, 48}};

    private static SparkSession spark;
    private static Path model;
    private static Path loras;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startSpark() {
        Path conformance = Path.of(System.getProperty("sdxl4j.conformance.dir"));
        model = conformance.resolve("models/sdxl-tiny");
        loras = conformance.resolve("loras");
        spark = SparkSession.builder().master("local[2,2]").appName("SdxlBatchTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }

    @AfterAll
    static void stopSpark() {
        if (spark != null) {
            spark.stop();
        }
        PipelineHolder.closeAll();
    }

    @AfterEach
    void noHook() {
        PartitionGenerator.afterImage = null;
    }

    private static ObjectNode request(String id, int i) {
        int[] size = SIZES[i % SIZES.length];
        ObjectNode r = JSON.createObjectNode().put("id", id).put("prompt", "a lighthouse, study " + i)
                .put("width", size[0]).put("height", size[1]).put("steps", 2 + i % 3)
                .put("scheduler", SCHEDULERS[i % SCHEDULERS.length]);
        if (i % 4 != 3) {
            r.put("seed", 1000 + 7 * i); // every fourth has none: derived from the id
        }
        if (i % 5 == 1) {
            r.put("negative_prompt", "fog");
        }
        if (i % 6 == 2) {
            r.put("guidance_scale", 3.5);
        }
        return r;
    }

    private static SdxlPipeline reference(BatchOptions options) {
        // The job's pipeline options on this machine: the CPU, local[2]'s two threads.
        return SdxlPipeline.load(model, options.pipelineOptions(-1, 2, 1).toBuilder()
                .maxAdapterSets(1).build());
    }

    private static int[] rgb(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    private static int[] rgb(byte[] png) throws IOException {
        return rgb(ImageIO.read(new ByteArrayInputStream(png)));
    }

    @Test
    void twentyRequestsMatchThePipelinePixelForPixelAndARetriedTaskLeavesOneFileEach() throws IOException {
        Path out = tmp.resolve("out");
        BatchOptions options = BatchOptions.builder().modelDir(model).outputDir(out.toUri().toString())
                .partitions(4).build();
        List<String> lines = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        try (SdxlPipeline single = reference(options)) {
            GeneratedImage source = single.generate(BatchRequest.parse(request("src", 0).toString(),
                    v -> java.util.Optional.empty()).request()).image();
            Path sourceFile = tmp.resolve("source.png");
            Files.write(sourceFile, source.toPng());
            for (int i = 0; i < 18; i++) {
                lines.add(request(String.format("r%02d", i), i).toString());
            }
            // img2img: the image as a path that Hadoop reads, and as base64.
            lines.add(JSON.createObjectNode().put("id", "i2i-path").put("prompt", "a lighthouse at night")
                    .put("image", sourceFile.toString()).put("strength", 0.6).put("steps", 4).put("seed", 5)
                    .put("scheduler", "euler").toString());
            lines.add(JSON.createObjectNode().put("id", "i2i-b64").put("prompt", "a lighthouse in snow")
                    .put("image", Base64.getEncoder().encodeToString(source.toPng())).put("strength", 0.5)
                    .put("steps", 3).toString());
            for (int i = 0; i < lines.size(); i++) {
                index.put(BatchRequest.id(BatchRequest.object(lines.get(i))), i);
            }

            AtomicInteger forced = new AtomicInteger();
            PartitionGenerator.afterImage = (id, task) -> {
                if (task.partitionId() == 1 && task.attemptNumber() == 0) {
                    forced.incrementAndGet();
                    throw new IllegalStateException("forced failure of the first attempt of partition 1 after " + id);
                }
            };
            SdxlBatch batch = SdxlBatch.create(spark, options);
            List<Row> rows = batch.generateJson(spark.createDataset(lines, Encoders.STRING())).collectAsList();

            assertEquals(1, forced.get(), "the hook failed partition 1's first attempt once");
            assertEquals(20, rows.size());
            assertEquals(20L, batch.imagesDone().value(), "the failed attempt's images are not counted");
            Set<String> ids = new TreeSet<>();
            for (Row row : rows) {
                String id = row.getAs("id");
                ids.add(id);
                assertNull(row.getAs("error"), id + ": " + row.getAs("error"));
                assertNull(row.getAs("png"), "written to files, not returned");
                String line = lines.get(index.get(id));
                var parsed = BatchRequest.parse(line, v -> v.equals(sourceFile.toString())
                        ? java.util.Optional.of(readUnchecked(sourceFile)) : java.util.Optional.empty());
                GeneratedImage expected = single.generate(parsed.request()).image();
                assertEquals(expected.seed(), (long) row.getAs("seed"), id);
                assertEquals(expected.parameters(), row.getAs("parameters"), id);
                Path file = out.resolve(id + ".png");
                assertEquals(file.toUri(), java.net.URI.create(row.getAs("path")), id);
                assertArrayEquals(rgb(expected.toBufferedImage()), rgb(Files.readAllBytes(file)), id + " pixels");
            }
            assertEquals(new TreeSet<>(index.keySet()), ids);
            Set<String> expectedFiles = ids.stream().map(id -> id + ".png").collect(Collectors.toCollection(TreeSet::new));
            Set<String> written;
            try (Stream<Path> files = Files.list(out)) {
                written = files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
            }
            assertEquals(expectedFiles, written, "one file per id, no temporary or checksum files");
        }
    }

    private static byte[] readUnchecked(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aRequestWithoutSeedGetsOneDerivedFromItsId() {
        var a = BatchRequest.parse("{\"id\":\"cat-7\",\"prompt\":\"a cat\"}", v -> java.util.Optional.empty());
        var b = BatchRequest.parse("{\"id\":\"cat-7\",\"prompt\":\"a dog\",\"seed\":-1}", v -> java.util.Optional.empty());
        var c = BatchRequest.parse("{\"id\":\"cat-8\",\"prompt\":\"a cat\"}", v -> java.util.Optional.empty());
        assertEquals(BatchRequest.derivedSeed("cat-7"), a.seed());
        assertEquals(a.seed(), b.seed());
        assertFalse(a.seed() == c.seed());
        assertEquals(42, BatchRequest.parse("{\"id\":\"x\",\"prompt\":\"p\",\"seed\":42}",
                v -> java.util.Optional.empty()).seed());
    }

    @Test
    void thePipelineIsBuiltOncePerExecutorJvmAcrossPartitionsAndJobs() {
        PipelineHolder.closeAll();
        int before = PipelineHolder.builds();
        BatchOptions options = BatchOptions.builder().modelDir(model).partitions(5).build();
        SdxlBatch batch = SdxlBatch.create(spark, options);
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            first.add(JSON.createObjectNode().put("id", "a" + i).put("prompt", "p" + i).put("width", 32)
                    .put("height", 32).put("steps", 1).toString());
            second.add(JSON.createObjectNode().put("id", "b" + i).put("prompt", "q" + i).put("width", 32)
                    .put("height", 32).put("steps", 1).toString());
        }
        List<Row> a = batch.generateJson(spark.createDataset(first, Encoders.STRING())).collectAsList();
        List<Row> b = batch.generateJson(spark.createDataset(second, Encoders.STRING())).collectAsList();
        assertEquals(6, a.size());
        assertEquals(6, b.size());
        for (Row r : a) {
            assertNotNull(r.getAs("png"), "no output folder: the PNG bytes in the row");
        }
        assertEquals(12L, batch.imagesDone().value());
        assertEquals(1, PipelineHolder.builds() - before, "10 tasks of two jobs, one pipeline");
    }

    @Test
    void requestsAreGroupedByLoraSetAndTheirLorasApplied() throws IOException {
        PipelineHolder.closeAll();
        String[][] sets = {{}, {"tiny_unet_kohya"}, {"tiny_te_locon_kohya:0.5"}, {"tiny_unet_peft"}};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ObjectNode r = JSON.createObjectNode().put("id", String.format("l%02d", i)).put("prompt", "a fox")
                    .put("width", 32).put("height", 32).put("steps", 2).put("seed", 3);
            var list = r.putArray("loras");
            for (String l : sets[i % sets.length]) {
                list.add(l);
            }
            lines.add(r.toString()); // interleaved: every set every fourth line
        }
        // One task, one adapter set open at a time: grouped, each set is merged once; in the lines' order it
        // would be merged at every line.
        BatchOptions options = BatchOptions.builder().modelDir(model).loraDir(loras).partitions(1)
                .maxAdapterSets(1).build();
        List<Row> rows = SdxlBatch.create(spark, options)
                .generateJson(spark.createDataset(lines, Encoders.STRING())).collectAsList();
        int sets0 = 0;
        SdxlPipeline shared = PipelineHolder.pipeline(options, -1, 2, 1);
        assertEquals(3, shared.adapterSetsOpened() - sets0, "three LoRA sets, each opened once");

        Map<String, int[]> pixels = new HashMap<>();
        try (SdxlPipeline single = SdxlPipeline.load(model, options.pipelineOptions(-1, 2, 1))) {
            for (Row row : rows) {
                String id = row.getAs("id");
                assertNull(row.getAs("error"), id + ": " + row.getAs("error"));
                var parsed = BatchRequest.parse(lines.get(Integer.parseInt(id.substring(1))),
                        v -> java.util.Optional.empty());
                int[] got = rgb((byte[]) row.getAs("png"));
                assertArrayEquals(rgb(single.generate(parsed.request()).image().toBufferedImage()), got, id);
                pixels.put(BatchRequest.key(parsed.request().loras()), got);
            }
        }
        assertEquals(4, pixels.size());
        int[] plain = pixels.get("");
        for (Map.Entry<String, int[]> e : pixels.entrySet()) {
            if (!e.getKey().isEmpty()) {
                assertFalse(java.util.Arrays.equals(plain, e.getValue()), e.getKey() + " changed nothing");
            }
        }
    }

    @Test
    void aBadRequestIsAnErrorRowAndTheOthersAreGenerated() {
        List<String> lines = List.of(
                "{\"id\":\"ok\",\"prompt\":\"p\",\"width\":32,\"height\":32,\"steps\":1}",
                "{\"id\":\"bad-steps\",\"prompt\":\"p\",\"num_inference_steps\":0}",
                "{\"id\":\"bad-lora\",\"prompt\":\"p\",\"width\":32,\"height\":32,\"steps\":1,\"loras\":[\"../x\"]}",
                "{\"prompt\":\"no id\"}",
                "not json");
        SdxlBatch batch = SdxlBatch.create(spark, BatchOptions.builder().modelDir(model).partitions(2).build());
        Map<String, Row> byField = new HashMap<>();
        Row ok = null;
        for (Row r : batch.generateJson(spark.createDataset(lines, Encoders.STRING())).collectAsList()) {
            if (r.getAs("error") == null) {
                ok = r;
            } else {
                byField.put(r.getAs("error_field"), r);
            }
        }
        assertNotNull(ok);
        assertEquals("ok", ok.getAs("id"));
        assertEquals(Set.of("num_inference_steps", "loras", "id", "body"), byField.keySet());
        assertEquals("bad-steps", byField.get("num_inference_steps").getAs("id"));
        assertEquals(4L, batch.requestsRefused().value());
    }

    @Test
    void twoRequestsWithOneIdAreRefusedBeforeAnythingRuns() {
        SdxlBatch batch = SdxlBatch.create(spark, BatchOptions.builder().modelDir(model).build());
        var e = assertThrows(InvalidRequestException.class, () -> batch.generateJson(spark.createDataset(
                List.of("{\"id\":\"x\",\"prompt\":\"a\"}", "{\"id\":\"x\",\"prompt\":\"b\"}"), Encoders.STRING())));
        assertEquals("id", e.field());
        assertTrue(e.reason().contains("2 requests"), e.reason());
    }
}
