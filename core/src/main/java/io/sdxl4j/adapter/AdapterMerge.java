// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import io.sdxl4j.SdxlException;
import io.sdxl4j.model.Component;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges adapters into the weights of ONNX components: for each weight some adapter targets,
 * {@code W + Σ scale · ΔW} (every adapter's ΔW in float32, added in the order given, as PEFT's
 * fuse and stable-diffusion.cpp add them), as a replacement initializer of exactly the
 * original's name, element type (float16 weights are computed in float32 and rounded once) and
 * dims. The model files are never rewritten: the tensors go to
 * {@link io.sdxl4j.engine.Engine#open(Path, String, Map)}.
 */
public final class AdapterMerge {

    private static final Logger LOG = LoggerFactory.getLogger(AdapterMerge.class);

    private AdapterMerge() {
    }

    /**
     * One adapter with its multiplier (diffusers' {@code lora_scale}, AUTOMATIC1111's
     * {@code <lora:name:scale>}).
     */
    public record Scaled(AdapterFile adapter, float scale) {
        public Scaled {
            Objects.requireNonNull(adapter, "adapter");
            if (!Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale: " + scale + " is not finite");
            }
        }
    }

    /**
     * The replacement initializers of one component file for these adapters: every module of
     * {@code component} in every adapter must map to a weight of {@code onnxFile} with a fitting
     * shape. Adapters without modules of this component contribute nothing. The caller owns the
     * returned tensors (hand them to {@code Engine.open}, which takes them over).
     *
     * @param onnxFile  the component's {@code model.onnx} (its external data beside it)
     * @param component which component the file is, for the key prefixes and messages
     * @throws SdxlException naming the adapter file and the key when a key maps to no weight, to
     *                       several, or a shape does not fit
     */
    public static Map<String, HostTensor> merge(Path onnxFile, Component component, List<Scaled> adapters) {
        OnnxModel model = OnnxModel.read(onnxFile, component.label());
        return merge(model, component, adapters);
    }

    /**
     * The replacement initializers of each component, for adapters merged into a whole model: a
     * file none of whose modules belongs to a component in {@code componentFiles} targets nothing of
     * the model and is an error; modules of components the model lacks are skipped with a warning
     * (a text-encoder LoRA on a refiner without {@code text_encoder}).
     *
     * @param componentFiles each component's {@code model.onnx}
     */
    public static Map<Component, Map<String, HostTensor>> mergeAll(Map<Component, Path> componentFiles,
                                                                  List<Scaled> adapters) {
        for (Scaled s : adapters) {
            if (s.adapter().components().stream().noneMatch(componentFiles::containsKey)) {
                throw new SdxlException(s.adapter().file() + ": targets " + s.adapter().components()
                        + ", none of which the model has (" + componentFiles.keySet() + ")");
            }
            for (Component c : s.adapter().components()) {
                if (!componentFiles.containsKey(c)) {
                    LOG.warn("{}: the model has no {}; its {} modules are not applied", s.adapter().file(),
                            c.folder(), s.adapter().modules(c).size());
                }
            }
        }
        Map<Component, Map<String, HostTensor>> out = new EnumMap<>(Component.class);
        try {
            for (Map.Entry<Component, Path> e : componentFiles.entrySet()) {
                boolean touched = adapters.stream().anyMatch(s -> s.adapter().components().contains(e.getKey()));
                if (touched) {
                    out.put(e.getKey(), merge(e.getValue(), e.getKey(), adapters));
                }
            }
            return out;
        } catch (RuntimeException ex) {
            out.values().forEach(AdapterMerge::closeAll);
            throw ex;
        }
    }

    /** One module's contribution to one weight. */
    private record Job(AdapterModule module, float scale) {
    }

    static Map<String, HostTensor> merge(OnnxModel model, Component component, List<Scaled> adapters) {
        ModuleResolver resolver = new ModuleResolver(model, component);
        Map<String, OnnxModel.Weight> targets = new LinkedHashMap<>();
        Map<String, List<Job>> jobs = new LinkedHashMap<>();
        // Resolve and check everything first, so that a bad key fails before any arithmetic.
        for (Scaled s : adapters) {
            Map<String, String> seen = new LinkedHashMap<>();
            for (AdapterModule m : s.adapter().modules(component)) {
                OnnxModel.Weight w = resolver.resolve(m, s.adapter().file());
                if (w.dataType() != DataType.FLOAT32 && w.dataType() != DataType.FLOAT16) {
                    throw new SdxlException(s.adapter().file() + ": key " + m.stem() + " targets " + w.node()
                            + ", whose weight " + w.initializer() + " is " + w.dataType()
                            + " (adapters merge into float32 and float16 weights only)");
                }
                if (model.uses(w.initializer()) > 1) {
                    throw new SdxlException(s.adapter().file() + ": key " + m.stem() + " targets " + w.node()
                            + ", whose weight " + w.initializer() + " is shared with other nodes of "
                            + model.label() + "; merging would change them too");
                }
                long[] target = w.torchShape();
                if (!m.delta().fits(target)) {
                    throw new SdxlException(s.adapter().file() + ": key " + m.stem() + " (" + m.delta().kind()
                            + ", ΔW " + Arrays.toString(m.delta().shape()) + ") does not fit " + w.node()
                            + " of " + model.label() + ", whose weight is " + Arrays.toString(target)
                            + " [out, in(, kh, kw)]");
                }
                String previous = seen.put(w.initializer(), m.stem());
                if (previous != null) {
                    LOG.warn("{}: keys {} and {} both target {}; both are added", s.adapter().file(), previous,
                            m.stem(), w.node());
                }
                targets.putIfAbsent(w.initializer(), w);
                jobs.computeIfAbsent(w.initializer(), k -> new ArrayList<>()).add(new Job(m, s.scale()));
            }
        }
        // Each weight on its own: read it in float32, add every delta in the order given, round it
        // once into its tensor. Weights run in parallel; only those in flight are held in float32.
        List<Callable<HostTensor>> tasks = new ArrayList<>();
        for (Map.Entry<String, List<Job>> e : jobs.entrySet()) {
            OnnxModel.Weight w = targets.get(e.getKey());
            tasks.add(() -> {
                float[] weights = model.floats(w.initializer());
                for (Job j : e.getValue()) {
                    add(weights, w, j.module().delta().compute(), j.scale());
                }
                return tensor(w.dataType(), w.dims(), weights);
            });
        }
        // A pool of its own, one thread per core: the common pool has cores − 1 workers (one on a
        // 2-core machine) and a merge is all arithmetic.
        int threads = Math.max(1, Math.min(tasks.size(), Runtime.getRuntime().availableProcessors()));
        List<Future<HostTensor>> futures;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "sdxl4j-adapter-merge");
            t.setDaemon(true);
            return t;
        })) {
            futures = pool.invokeAll(tasks);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new SdxlException(model.label() + ": merge interrupted", ex);
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        RuntimeException failure = null;
        int i = 0;
        for (String name : jobs.keySet()) {
            try {
                out.put(name, futures.get(i++).get());
            } catch (ExecutionException ex) {
                if (failure == null) {
                    failure = ex.getCause() instanceof RuntimeException r ? r
                            : new SdxlException(model.label() + ": merging " + name + ": " + ex.getCause(), ex.getCause());
                }
            } catch (InterruptedException ex) {
                // invokeAll returned: every task is done, get() does not wait.
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = new SdxlException(model.label() + ": merge interrupted", ex);
                }
            }
        }
        if (failure != null) {
            closeAll(out);
            throw failure;
        }
        LOG.debug("{}: {} weights changed by {} adapter(s)", model.label(), out.size(), adapters.size());
        return out;
    }

    private static final int TILE = 64;

    /** {@code weights += scale · delta}, {@code delta} in torch layout, {@code weights} in the initializer's. */
    static void add(float[] weights, OnnxModel.Weight w, float[] delta, float scale) {
        if (scale == 0) {
            return;
        }
        if (w.layout() == OnnxModel.Layout.IN_OUT) {
            // The initializer is W^T: [in, out]. Transposed in tiles, so that the strided side stays
            // in cache (a column at a time misses on every element of a 1280×1280 weight).
            int in = Math.toIntExact(w.dims()[0]);
            int out = Math.toIntExact(w.dims()[1]);
            for (int o0 = 0; o0 < out; o0 += TILE) {
                int o1 = Math.min(out, o0 + TILE);
                for (int i0 = 0; i0 < in; i0 += TILE) {
                    int i1 = Math.min(in, i0 + TILE);
                    for (int i = i0; i < i1; i++) {
                        int row = i * out;
                        for (int o = o0; o < o1; o++) {
                            weights[row + o] += scale * delta[o * in + i];
                        }
                    }
                }
            }
        } else {
            for (int k = 0; k < weights.length; k++) {
                weights[k] += scale * delta[k];
            }
        }
    }

    /** A host tensor of the initializer's type and dims holding {@code values}. */
    static HostTensor tensor(DataType type, long[] dims, float[] values) {
        HostTensor t = HostTensor.allocate(type, dims);
        if (type == DataType.FLOAT32) {
            FloatBuffer b = t.floatBuffer();
            b.put(0, values);
        } else {
            ShortBuffer b = t.halfBuffer();
            for (int i = 0; i < values.length; i++) {
                b.put(i, Float.floatToFloat16(values[i]));
            }
        }
        return t;
    }

    /** Closes every tensor of a merge result (when it is not handed to an engine). */
    public static void closeAll(Map<String, HostTensor> tensors) {
        for (HostTensor t : tensors.values()) {
            t.close();
        }
    }
}
