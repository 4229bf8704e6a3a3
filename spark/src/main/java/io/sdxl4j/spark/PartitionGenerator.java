// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import io.sdxl4j.GeneratedImage;
import io.sdxl4j.GenerationResult;
import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.SdxlPipeline;
import java.io.IOException;
import java.io.Serial;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task: the requests of one partition (sorted by LoRA set, then id) through this executor's
 * pipeline, one output row each, generated as Spark pulls them (one image in memory at a time).
 * What travels with it is only its options, the Hadoop settings and the accumulators; the pipeline
 * is looked up in {@link PipelineHolder} on the executor.
 */
final class PartitionGenerator implements MapPartitionsFunction<Row, Row> {

    @Serial
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PartitionGenerator.class);
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)(,\\d+)?]");

    /**
     * Called after each image is written or encoded, with the request id and the task; for tests that
     * make a task fail part-way (in local mode the tasks run in the test's JVM). Null: nothing.
     */
    static volatile BiConsumer<String, TaskContext> afterImage;

    private final BatchOptions options;
    private final Map<String, String> hadoopSettings;
    private final LongAccumulator done;
    private final LongAccumulator failed;

    PartitionGenerator(BatchOptions options, Map<String, String> hadoopSettings, LongAccumulator done,
                       LongAccumulator failed) {
        this.options = options;
        this.hadoopSettings = hadoopSettings;
        this.done = done;
        this.failed = failed;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        Configuration conf = new Configuration();
        hadoopSettings.forEach(conf::set);
        OutputFiles files = options.outputDir().map(d -> OutputFiles.at(d, conf)).orElse(null);
        return new Iterator<>() {
            private final long start = System.nanoTime();
            private final Set<String> loraSets = new LinkedHashSet<>();
            private SdxlPipeline pipeline;
            private int images;
            private int errors;
            private boolean logged;

            @Override
            public boolean hasNext() {
                boolean more = rows.hasNext();
                if (!more && !logged) {
                    logged = true;
                    LOG.info("partition {} (attempt {}): {} images, {} requests refused, in {} s; LoRA sets {}",
                            task.partitionId(), task.attemptNumber(), images, errors,
                            String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9),
                            loraSets.stream().map(s -> s.isEmpty() ? "none" : s).toList());
                }
                return more;
            }

            @Override
            public Row next() {
                Row row = rows.next();
                loraSets.add(row.getString(1));
                try {
                    if (pipeline == null) {
                        SparkConf sc = SparkEnv.get().conf();
                        int cores = options.threads() > 0 ? options.threads() : executorCores(sc);
                        pipeline = PipelineHolder.pipeline(options, device(task.resourcesJMap()), cores,
                                adapterSets(sc));
                    }
                    Row out = generate(row, pipeline, files, task, conf);
                    images++;
                    done.add(1);
                    return out;
                } catch (BatchRequest.Invalid e) {
                    errors++;
                    failed.add(1);
                    String id = e.id != null ? e.id : row.getString(0);
                    LOG.warn("request {}: {}: {}", id, e.field, e.getMessage());
                    return RowFactory.create(id, e.seed, null, null, null, null, e.field, e.getMessage());
                }
            }
        };
    }

    private static Row generate(Row row, SdxlPipeline pipeline, OutputFiles files, TaskContext task,
                                Configuration conf) {
        BatchRequest.Parsed p;
        try {
            p = BatchRequest.parse(row.getString(2), v -> OutputFiles.read(v, conf));
        } catch (InvalidRequestException e) {
            throw new BatchRequest.Invalid(row.getString(0), e.field(), null,
                    e.value().map(v -> v + " ").orElse("") + e.reason());
        }
        GenerationResult result;
        try {
            result = pipeline.generate(p.request());
        } catch (InvalidRequestException e) {
            throw p.invalid(e);
        }
        GeneratedImage image = result.image();
        byte[] png = image.toPng();
        String path = null;
        if (files != null) {
            try {
                path = files.write(p.id(), png, task.taskAttemptId());
            } catch (IOException e) {
                // The task fails and Spark runs it again: a full disk or a lost connection is not the request's fault.
                throw new UncheckedIOException(files.image(p.id()) + ": cannot write the image", e);
            }
            png = null;
        }
        BiConsumer<String, TaskContext> hook = afterImage;
        if (hook != null) {
            hook.accept(p.id(), task);
        }
        return RowFactory.create(p.id(), p.seed(), path, png, image.parameters(), result.total().toNanos() / 1e9,
                null, null);
    }

    // The GPU Spark gave this task (spark.task.resource.gpu.amount=1): its first address is the CUDA ordinal.
    static int device(Map<String, ResourceInformation> resources) {
        ResourceInformation gpu = resources.get("gpu");
        if (gpu == null || gpu.addresses().length == 0) {
            return -1;
        }
        String address = gpu.addresses()[0];
        try {
            return Integer.parseInt(address.strip());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("gpu address '" + address + "' from Spark's resource discovery is not a CUDA"
                    + " device ordinal (the discovery script must print indices, as nvidia-smi --query-gpu=index does)");
        }
    }

    // See BatchOptions.maxAdapterSets: on the CPU the tasks of an executor share one pipeline, each maybe on
    // a LoRA set of its own; kept open together, they do not evict each other's set at every image.
    private int adapterSets(SparkConf conf) {
        if (options.maxAdapterSets() > 0) {
            return options.maxAdapterSets();
        }
        if (options.provider() != BatchOptions.Provider.CPU) {
            return 1;
        }
        return Math.max(1, executorCores(conf) / Math.max(1, conf.getInt("spark.task.cpus", 1)));
    }

    /** The executor's cores: {@code spark.executor.cores}, or local mode's N, or the machine's. */
    static int executorCores(SparkConf conf) {
        int cores = conf.getInt("spark.executor.cores", 0);
        if (cores > 0) {
            return cores;
        }
        String master = conf.get("spark.master", "");
        Matcher m = LOCAL.matcher(master);
        if (m.matches()) {
            return m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
        }
        return master.equals("local") ? 1 : Runtime.getRuntime().availableProcessors();
    }
}
