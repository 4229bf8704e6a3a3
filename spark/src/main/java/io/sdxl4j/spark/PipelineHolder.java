// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.samples.BuiltInModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipelines of this JVM, one per (model folder, LoRA folder, engine, provider, device,
 * threads, adapter sets kept): an executor loads its model once and every task and stage it runs
 * afterwards reuses it. A pipeline never travels with a task's closure (it holds native sessions);
 * the closure carries {@link BatchOptions}, and the task looks its pipeline up here. The requests'
 * LoRA sets are variants inside one pipeline ({@link PipelineOptions#maxAdapterSets()}), not
 * pipelines of their own: one per set would load the base weights once per set.
 *
 * <p>Pipelines live as long as the JVM (an executor's life); {@link #closeAll()} is for a driver in
 * local mode that wants its native memory back before it exits.
 */
final class PipelineHolder {

    private static final Logger LOG = LoggerFactory.getLogger(PipelineHolder.class);
    private static final String BUILT_IN = "<built-in>";

    /**
     * What makes two pipelines differ.
     *
     * @param device the CUDA device, −1 on the CPU
     */
    record Key(String modelDir, String loraDir, String engine, BatchOptions.Provider provider, int device,
               int threads, String optimizedModelCache, int maxAdapterSets, Precision precision, boolean fusedAttention) {
    }

    private static final ConcurrentMap<Key, SdxlPipeline> PIPELINES = new ConcurrentHashMap<>();
    private static final AtomicInteger BUILDS = new AtomicInteger();
    private static volatile Path builtInModel;

    private PipelineHolder() {
    }

    static Key key(BatchOptions options, int device, int threads, int adapterSets) {
        return new Key(options.modelDir().orElse(BUILT_IN), options.loraDir().orElse(null), options.engine(),
                options.provider(), options.provider() == BatchOptions.Provider.CPU ? -1 : Math.max(device, 0), threads,
                options.optimizedModelCache().orElse(null), adapterSets, options.precision(), options.fusedAttention());
    }

    /**
     * This JVM's pipeline for {@code options} on {@code device} with {@code threads} and
     * {@code adapterSets}, loaded on first use.
     */
    static SdxlPipeline pipeline(BatchOptions options, int device, int threads, int adapterSets) {
        Key key = key(options, device, threads, adapterSets);
        // computeIfAbsent: the tasks that start together on a new executor wait for one load, not one each.
        return PIPELINES.computeIfAbsent(key, k -> {
            PipelineOptions po = options.pipelineOptions(k.device(), k.threads(), k.maxAdapterSets());
            Path model = k.modelDir().equals(BUILT_IN) ? builtInModel() : Path.of(k.modelDir());
            long start = System.nanoTime();
            SdxlPipeline p = SdxlPipeline.load(model, po);
            BUILDS.incrementAndGet();
            LOG.info("loaded {} ({}) in {} ms: {}", k.modelDir(), p.engineDescription(),
                    (System.nanoTime() - start) / 1_000_000, po);
            return p;
        });
    }

    private static synchronized Path builtInModel() {
        if (builtInModel == null) {
            builtInModel = BuiltInModel.extract();
        }
        return builtInModel;
    }

    /** Pipelines loaded by this JVM so far (a test checks that an executor loads one). */
    static int builds() {
        return BUILDS.get();
    }

    /** Closes every pipeline of this JVM; the next task loads again. */
    static void closeAll() {
        List<SdxlPipeline> open = new ArrayList<>(PIPELINES.values());
        PIPELINES.clear();
        for (SdxlPipeline p : open) {
            p.close();
        }
    }
}
