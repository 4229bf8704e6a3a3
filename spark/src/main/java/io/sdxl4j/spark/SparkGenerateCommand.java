// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.Precision;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The batch command: {@code java -jar sdxl4j-spark.jar --input requests.jsonl --output DIR} on one
 * machine (Spark inside the jar, {@code local[*]} unless {@code --master} says otherwise), or the
 * same main class in the job jar under {@code spark-submit}, which sets the master. It writes
 * {@code <id>.png} for each request under the output folder, and the result rows (without the
 * images) as JSON under {@code <output>/_index}.
 */
@Command(name = "sdxl4j-spark", mixinStandardHelpOptions = true,
        description = "Generates the requests of a JSON-lines file (the native API's fields, one request a line,"
                + " each with an id) as a Spark job, writing <id>.png under the output folder.")
public final class SparkGenerateCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR",
            description = "The SDXL ONNX export, at this path on every executor (default: the built-in tiny model).")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE",
            description = "The requests, one JSON object a line: a path or a Hadoop URI (hdfs:, s3a: …).")
    String input;

    @Option(names = "--output", required = true, paramLabel = "DIR",
            description = "Where the images go, as <id>.png: a path or a Hadoop URI.")
    String output;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark's master (local[N], spark://…, k8s://…); default: spark-submit's, else local[*].")
    String master;

    @Option(names = "--loras", paramLabel = "DIR",
            description = "The LoRA folder the requests' loras name files of, at this path on every executor.")
    Path loras;

    @Option(names = "--partitions", defaultValue = "0", paramLabel = "N",
            description = "Tasks to split the requests into (default: Spark's default parallelism).")
    int partitions;

    @Option(names = "--provider", defaultValue = "cpu", paramLabel = "NAME",
            description = "cpu, cuda or tensorrt; on a GPU, each task's device is the one Spark assigned it.")
    String provider;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "ONNX Runtime threads of each executor's pipeline (default: the executor's cores).")
    int threads;

    @Option(names = "--engine", defaultValue = "ort", paramLabel = "NAME", description = "The engine (default ort).")
    String engine;

    @Option(names = "--optimized-cache", paramLabel = "DIR",
            description = "Keep ONNX Runtime's optimized graphs in this folder of each executor.")
    Path optimizedCache;

    @Option(names = "--max-adapter-sets", defaultValue = "0", paramLabel = "N",
            description = "LoRA sets each pipeline keeps open at once (default: the tasks that share it; requests are"
                    + " grouped by set).")
    int maxAdapterSets;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "FP32",
            description = "Number format: ${COMPLETION-CANDIDATES}; INT8 and INT8_CONV quantize the UNet for the"
                    + " CPU's int8 units (faster, a few levels off the fp32 image, no LoRAs), FP16 converts it for"
                    + " GPUs (default: ${DEFAULT-VALUE}).")
    Precision precision;

    @Option(names = "--fused-attention",
            description = "Rewrite the attention blocks into ONNX Runtime's MultiHeadAttention (flash attention).")
    boolean fusedAttention;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command and returns its exit status: 0 all generated, 1 some requests refused, 2 bad usage. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new SparkGenerateCommand());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("sdxl4j-spark: " + (e instanceof InvalidRequestException invalid
                    ? invalid.field() + ": " + invalid.value().map(v -> v + " ").orElse("") + invalid.reason()
                    : e.getMessage()));
            commandLine.getErr().flush();
            return e instanceof IllegalArgumentException ? commandLine.getCommandSpec().exitCodeOnInvalidInput()
                    : commandLine.getCommandSpec().exitCodeOnExecutionException();
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        BatchOptions options = BatchOptions.builder().modelDir(model).loraDir(loras).outputDir(output)
                .partitions(partitions).provider(BatchOptions.Provider.parse(provider)).threads(threads).engine(engine)
                .optimizedModelCache(optimizedCache).maxAdapterSets(maxAdapterSets).precision(precision)
                .fusedAttention(fusedAttention).build();
        SparkSession.Builder builder = SparkSession.builder().appName("sdxl4j batch");
        if (master != null) {
            builder.master(master);
        } else if (!new SparkConf().contains("spark.master")) {
            builder.master("local[*]");
        }
        PrintWriter out = spec.commandLine().getOut();
        SparkSession spark = builder.getOrCreate();
        try {
            SdxlBatch batch = SdxlBatch.create(spark, options);
            Dataset<Row> results = batch.generateJson(spark.read().textFile(input));
            String index = output.replaceAll("/+$", "") + "/_index";
            results.drop("png").write().mode(SaveMode.Overwrite).json(index);
            long refused = batch.requestsRefused().value();
            out.printf("%d images under %s, %d requests refused (the results: %s)%n", batch.imagesDone().value(),
                    output, refused, index);
            out.flush();
            return refused == 0 ? 0 : 1;
        } finally {
            spark.stop();
            PipelineHolder.closeAll();
        }
    }
}
