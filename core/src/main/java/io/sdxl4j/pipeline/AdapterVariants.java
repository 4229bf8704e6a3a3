// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.PipelineOptions;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model variants of a pipeline: the plain model, and one per adapter set, opened on first use
 * and kept, at most {@link PipelineOptions#maxAdapterSets()} sets at once, the least recently used
 * closed first. Not thread-safe: the pipeline serializes its generations.
 */
public final class AdapterVariants implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdapterVariants.class);

    private final LoadedModel base;
    private final PipelineOptions options;
    private final LinkedHashMap<AdapterSet, LoadedModel> open = new LinkedHashMap<>(4, 0.75f, true);
    private int opened;

    public AdapterVariants(LoadedModel base, PipelineOptions options) {
        this.base = base;
        this.options = options;
    }

    /** The model for {@code set}: the plain model for none, else its variant (opened when not kept). */
    LoadedModel get(AdapterSet set) {
        if (set.isEmpty()) {
            return base;
        }
        LoadedModel variant = open.get(set);
        if (variant != null) {
            return variant;
        }
        // Make room first: the variant about to open needs its memory more than an idle one.
        while (open.size() >= options.maxAdapterSets()) {
            Iterator<Map.Entry<AdapterSet, LoadedModel>> eldest = open.entrySet().iterator();
            Map.Entry<AdapterSet, LoadedModel> e = eldest.next();
            eldest.remove();
            LOG.info("closing the adapter set {} to open {}", e.getKey(), set);
            e.getValue().close();
        }
        long start = System.nanoTime();
        variant = LoadedModel.openVariant(base, set, options);
        opened++;
        LOG.info("adapter set {} opened in {} ms", set, (System.nanoTime() - start) / 1_000_000);
        open.put(set, variant);
        return variant;
    }

    /** The plain model. */
    public LoadedModel base() {
        return base;
    }

    /** Variants opened so far (each a merge and a session start). */
    public int opened() {
        return opened;
    }

    /** Variants open now. */
    public int openNow() {
        return open.size();
    }

    /** Closes every variant (not the plain model, which its owner closes). */
    @Override
    public void close() {
        try (Scope scope = new Scope()) {
            open.values().forEach(scope::add);
            open.clear();
        }
    }
}
