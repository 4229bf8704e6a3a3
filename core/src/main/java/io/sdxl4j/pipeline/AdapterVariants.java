// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.model.Component;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model variants of a pipeline: the plain model, and one per adapter set, opened on first use
 * and kept, at most {@link PipelineOptions#maxAdapterSets()} sets at once, the least recently used
 * closed first. Not thread-safe: the pipeline serializes its generations; only the memory figures
 * ({@link #heldBytes()}, {@link #growthBytes}) may be read from other threads.
 *
 * <p>A variant holds new sessions of both text encoders and the UNet beside the plain model's, and
 * the merged weights, which must outlive them: at most twice those components' weight bytes
 * (measured on the full-size synthetic UNet: 20 GiB for a LoRA replacing 85 % of 10 GiB of
 * weights, {@code bench/RESULTS.md}, "Applying a LoRA"). That bound is what the memory figures
 * count, so that a server can refuse a request whose adapter set would not fit before merging it.
 */
public final class AdapterVariants implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdapterVariants.class);

    private final LoadedModel base;
    private final PipelineOptions options;
    private final LinkedHashMap<AdapterSet, LoadedModel> open = new LinkedHashMap<>(4, 0.75f, true);
    private int opened;
    /** The open sets in eviction order (eldest first), republished on every change for other threads. */
    private volatile List<AdapterSet> openSets = List.of();
    /** The bytes one variant is counted for. */
    private final long variantBytes;

    public AdapterVariants(LoadedModel base, PipelineOptions options) {
        this.base = base;
        this.options = options;
        long weights = 0;
        for (Component c : new Component[] {Component.TEXT_ENCODER, Component.TEXT_ENCODER_2, Component.UNET}) {
            if (base.folder().has(c)) {
                weights += componentBytes(base.folder().onnx(c));
            }
        }
        this.variantBytes = VARIANT_FACTOR * weights;
    }

    /** A variant's memory as a multiple of the weights it reopens: its sessions and the merged weights. */
    private static final long VARIANT_FACTOR = 2;

    // The component's folder: its model.onnx and the external data beside it, as optimum writes them.
    private static long componentBytes(Path onnx) {
        Path dir = onnx.toAbsolutePath().getParent();
        try (Stream<Path> files = Files.list(dir)) {
            long sum = 0;
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f) && !f.getFileName().toString().endsWith(".json")) {
                    sum += Files.size(f);
                }
            }
            return sum;
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list the component's files", e);
        }
    }

    /** The memory the open variants hold, as counted (see the class comment). */
    public long heldBytes() {
        return openSets.size() * variantBytes;
    }

    /**
     * How much more memory the variants would hold after opening {@code set}: nothing for the plain
     * model, a set already open, or when {@link #get} would close one to make room; else one variant.
     */
    public long growthBytes(AdapterSet set) {
        List<AdapterSet> now = openSets;
        if (set.isEmpty() || now.contains(set) || now.size() >= options.maxAdapterSets()) {
            return 0;
        }
        return variantBytes;
    }

    private void publish() {
        openSets = List.copyOf(open.keySet());
    }

    /** The model for {@code set}: the plain model for none, else its variant (opened when not kept). */
    LoadedModel get(AdapterSet set) {
        if (set.isEmpty()) {
            return base;
        }
        LoadedModel variant = open.get(set);
        if (variant != null) {
            publish(); // the access order changed
            return variant;
        }
        // Make room first: the variant about to open needs its memory more than an idle one.
        while (open.size() >= options.maxAdapterSets()) {
            Iterator<Map.Entry<AdapterSet, LoadedModel>> eldest = open.entrySet().iterator();
            Map.Entry<AdapterSet, LoadedModel> e = eldest.next();
            eldest.remove();
            publish();
            LOG.info("closing the adapter set {} to open {}", e.getKey(), set);
            e.getValue().close();
        }
        long start = System.nanoTime();
        variant = LoadedModel.openVariant(base, set, options);
        opened++;
        LOG.info("adapter set {} opened in {} ms", set, (System.nanoTime() - start) / 1_000_000);
        open.put(set, variant);
        publish();
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
            publish();
        }
    }
}
