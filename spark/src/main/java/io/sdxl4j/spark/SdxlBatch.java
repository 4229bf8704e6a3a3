// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdxl4j.InvalidRequestException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * Batch generation on Spark: a {@code Dataset} of requests in, a {@code Dataset} of results out,
 * each executor running one pipeline (its model loaded once, kept across tasks and stages) for
 * the tasks Spark gives it, on the GPU Spark assigned to each task.
 *
 * <pre>{@code
 * SdxlBatch batch = SdxlBatch.create(spark, BatchOptions.builder()
 *         .modelDir(Path.of("/models/sdxl-onnx")).outputDir("s3a://bucket/images").build());
 * Dataset<Row> results = batch.generateJson(spark.read().textFile("s3a://bucket/requests.jsonl"));
 * results.write().json("s3a://bucket/images/_index");   // the images are made as this runs
 * }</pre>
 *
 * <p>Requests are the native API's JSON ({@link #generateJson}) or rows whose columns bear its
 * field names ({@link #generate}); each has an {@code id}, which names its image. They are
 * range-partitioned by LoRA set and then id, so that a partition holds one LoRA set (or few) and
 * its executor switches adapters rarely, and a task that runs again meets its rows in the same
 * order. Every request's seed is fixed before it runs (derived from the id when it has none), so a
 * retried or speculative task draws the same image; images are written whole, temporary file then
 * rename ({@code <id>.png}).
 *
 * <p>The result has the columns of {@link #OUTPUT_SCHEMA}: {@code id}, {@code seed}, {@code path}
 * (with an output folder) or {@code png} (the bytes, without one), {@code parameters} (A1111's
 * text, as in the PNG), {@code seconds}, and for a request that cannot be generated
 * {@code error_field} and {@code error} instead of an image (the job carries on). The result is
 * lazy, as Spark's are: each action on it generates again, so run one (a write, a
 * {@code collect}) or persist it. {@link #imagesDone()} counts in Spark's UI as images finish.
 */
public final class SdxlBatch {

    /** The result's columns. */
    public static final StructType OUTPUT_SCHEMA = new StructType()
            .add("id", DataTypes.StringType, true)
            .add("seed", DataTypes.LongType, true)
            .add("path", DataTypes.StringType, true)
            .add("png", DataTypes.BinaryType, true)
            .add("parameters", DataTypes.StringType, true)
            .add("seconds", DataTypes.DoubleType, true)
            .add("error_field", DataTypes.StringType, true)
            .add("error", DataTypes.StringType, true);

    /** The requests as the tasks get them: id, LoRA set, the JSON line. */
    static final StructType PLANNED_SCHEMA = new StructType()
            .add("id", DataTypes.StringType, true)
            .add("lora_key", DataTypes.StringType, false)
            .add("request", DataTypes.StringType, false);

    private final SparkSession spark;
    private final BatchOptions options;
    private final LongAccumulator imagesDone;
    private final LongAccumulator requestsRefused;

    private SdxlBatch(SparkSession spark, BatchOptions options) {
        this.spark = spark;
        this.options = options;
        this.imagesDone = spark.sparkContext().longAccumulator("sdxl4j images done");
        this.requestsRefused = spark.sparkContext().longAccumulator("sdxl4j requests refused");
    }

    /** A batch on {@code spark} with {@code options}; registers its accumulators. */
    public static SdxlBatch create(SparkSession spark, BatchOptions options) {
        return new SdxlBatch(Objects.requireNonNull(spark, "spark"), Objects.requireNonNull(options, "options"));
    }

    public BatchOptions options() {
        return options;
    }

    /** Images finished so far, by the jobs of this batch (Spark's UI shows it as "sdxl4j images done"). */
    public LongAccumulator imagesDone() {
        return imagesDone;
    }

    /** Requests answered with an error instead of an image ("sdxl4j requests refused"). */
    public LongAccumulator requestsRefused() {
        return requestsRefused;
    }

    /**
     * Generates the requests of {@code requests}, rows whose columns have the native API's field names
     * ({@code id}, {@code prompt}, {@code width}, {@code loras} as an array, {@code image} as a string —
     * base64 or a path — or binary …).
     *
     * @throws InvalidRequestException naming {@code id} when two requests share an id
     */
    public Dataset<Row> generate(Dataset<Row> requests) {
        return generateJson(requests.toJSON());
    }

    /**
     * Generates the requests of {@code lines}, one JSON object each (blank lines are skipped).
     *
     * @throws InvalidRequestException naming {@code id} when two requests share an id (checked now, by a
     *                                 Spark job over the lines that generates nothing)
     */
    public Dataset<Row> generateJson(Dataset<String> lines) {
        Dataset<Row> planned = lines.filter((FilterFunction<String>) l -> !l.isBlank())
                .map((MapFunction<String, Row>) SdxlBatch::plan, Encoders.row(PLANNED_SCHEMA));
        List<Row> duplicates = planned.filter(col("id").isNotNull()).groupBy("id").count()
                .filter(col("count").gt(1)).limit(3).collectAsList();
        if (!duplicates.isEmpty()) {
            throw new InvalidRequestException("id", duplicates.get(0).getString(0), "is the id of "
                    + duplicates.get(0).getLong(1) + " requests: each image needs its own");
        }
        int partitions = options.partitions() > 0 ? options.partitions() : spark.sparkContext().defaultParallelism();
        return planned.repartitionByRange(partitions, col("lora_key"), col("id"))
                .sortWithinPartitions("lora_key", "id")
                .mapPartitions(new PartitionGenerator(options, hadoopSettings(), imagesDone, requestsRefused),
                        Encoders.row(OUTPUT_SCHEMA));
    }

    // The id and LoRA set of a line, read without its images; a line that does not parse keeps its place
    // and gets its error when it runs.
    static Row plan(String line) {
        String id = null;
        String loras = "";
        try {
            ObjectNode body = BatchRequest.object(line);
            loras = BatchRequest.loraKey(body);
            id = BatchRequest.id(body);
        } catch (BatchRequest.Invalid e) {
            // reported by the task
        }
        return RowFactory.create(id, loras, line);
    }

    // The driver's Hadoop settings that differ from a fresh Configuration's (spark.hadoop.*, S3A keys,
    // HDFS addresses): a Configuration is not Serializable, its differences are.
    private Map<String, String> hadoopSettings() {
        Configuration defaults = new Configuration();
        Map<String, String> diff = new HashMap<>();
        for (Map.Entry<String, String> e : spark.sparkContext().hadoopConfiguration()) {
            if (!Objects.equals(defaults.get(e.getKey()), e.getValue())) {
                diff.put(e.getKey(), e.getValue());
            }
        }
        return diff;
    }
}
