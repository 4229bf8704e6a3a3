// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

/** How a task finds its device and its pipeline's threads, without a Spark context. */
class PartitionGeneratorTest {

    @Test
    void aTaskRunsOnTheGpuSparkAssignedIt() {
        assertEquals(3, PartitionGenerator.device(Map.of("gpu", new ResourceInformation("gpu", new String[] {"3"}))));
        assertEquals(-1, PartitionGenerator.device(Map.of()));
        assertThrows(IllegalStateException.class, () -> PartitionGenerator.device(
                Map.of("gpu", new ResourceInformation("gpu", new String[] {"GPU-5e1f"}))));
    }

    @Test
    void thePipelineHasTheExecutorsCores() {
        assertEquals(3, PartitionGenerator.executorCores(new SparkConf(false).set("spark.master", "local[3]")));
        assertEquals(2, PartitionGenerator.executorCores(new SparkConf(false).set("spark.master", "local[2,4]")));
        assertEquals(5, PartitionGenerator.executorCores(new SparkConf(false).set("spark.master", "spark://h:7077")
                .set("spark.executor.cores", "5")));
        assertEquals(1, PartitionGenerator.executorCores(new SparkConf(false).set("spark.master", "local")));
    }

    @Test
    void eachGpuHasItsPipelineAndTheCpuOne() {
        BatchOptions cuda = BatchOptions.builder().provider(BatchOptions.Provider.CUDA).build();
        BatchOptions cpu = BatchOptions.builder().build();
        assertNotEquals(PipelineHolder.key(cuda, 0, 4, 1), PipelineHolder.key(cuda, 1, 4, 1));
        assertEquals(PipelineHolder.key(cpu, 0, 4, 1), PipelineHolder.key(cpu, 1, 4, 1));
        assertEquals(1, cuda.pipelineOptions(1, 4, 1).provider() instanceof io.sdxl4j.ExecutionProvider.Cuda c
                ? c.deviceId() : -1);
    }

    @Test
    void precisionAndFusedAttentionReachThePipelineAndSeparateItsPipelines() {
        BatchOptions int8 = BatchOptions.builder().precision(io.sdxl4j.Precision.INT8).fusedAttention(true).build();
        BatchOptions plain = BatchOptions.builder().build();
        io.sdxl4j.PipelineOptions po = int8.pipelineOptions(-1, 2, 1);
        assertEquals(io.sdxl4j.Precision.INT8, po.precision());
        assertEquals(true, po.fusedAttention());
        assertEquals(io.sdxl4j.Precision.FP32, plain.pipelineOptions(-1, 2, 1).precision());
        assertNotEquals(PipelineHolder.key(int8, -1, 2, 1), PipelineHolder.key(plain, -1, 2, 1));
    }
}
