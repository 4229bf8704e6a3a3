// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.Float16;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Shapes;
import io.sdxl4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The checks and type adaptations every engine's {@link EngineSession#bind} does the same way:
 * every input bound, names known, shapes fitting the declaration, and a float32 (int64) host
 * tensor bound to a float16 (int32) graph tensor through a converted shadow.
 */
public final class Bindings {

    private Bindings() {
    }

    /**
     * A host tensor as the graph wants it: {@code bound} is the caller's tensor, or a shadow of the
     * graph's type that {@code convert} fills from it (inputs, before each run) or copies back into
     * it (outputs, after each run). A shadow belongs to the binding and is closed with it.
     */
    public record Adapted(HostTensor bound, Runnable convert) {
        /** True when {@code bound} is a shadow the binding owns. */
        public boolean converted() {
            return convert != null;
        }
    }

    /** Binds one graph tensor of a binding under construction. */
    @FunctionalInterface
    public interface Binder {
        void bind(TensorSpec spec, Tensor tensor, boolean input);
    }

    /**
     * The shape of every engine's {@link EngineSession#bind}: checks that every input is bound,
     * hands each named tensor with its declaration to {@code binder}, and closes {@code binding} if
     * any of it fails.
     *
     * @return {@code binding}, complete
     */
    public static <B extends Binding> B bindAll(EngineSession session, Map<String, ? extends Tensor> in,
                                                Map<String, ? extends Tensor> out, B binding, Binder binder) {
        try {
            requireComplete(session, in, out);
            for (Map.Entry<String, ? extends Tensor> e : in.entrySet()) {
                binder.bind(spec(session, e.getKey(), true), e.getValue(), true);
            }
            for (Map.Entry<String, ? extends Tensor> e : out.entrySet()) {
                binder.bind(spec(session, e.getKey(), false), e.getValue(), false);
            }
            return binding;
        } catch (RuntimeException e) {
            binding.close();
            throw e;
        }
    }

    /**
     * Fails unless every graph input is bound and at least one output is.
     *
     * @throws IllegalArgumentException naming the missing inputs
     */
    public static void requireComplete(EngineSession session, Map<String, ?> in, Map<String, ?> out) {
        List<String> missing = new ArrayList<>();
        for (TensorSpec spec : session.inputs()) {
            if (!in.containsKey(spec.name())) {
                missing.add(spec.name());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(session.label() + ": inputs " + missing + " not bound");
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(session.label() + ": no output bound");
        }
    }

    /**
     * The declaration of the input (or output) {@code name}.
     *
     * @throws IllegalArgumentException naming the tensor and the graph's names when there is none
     */
    public static TensorSpec spec(EngineSession session, String name, boolean input) {
        for (TensorSpec s : input ? session.inputs() : session.outputs()) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException(session.label() + ": no " + (input ? "input" : "output") + " named `"
                + name + "`; found " + (input ? session.inputs() : session.outputs()).stream()
                .map(TensorSpec::name).toList());
    }

    /**
     * Checks a bound shape against the declaration.
     *
     * @throws IllegalArgumentException naming the tensor when the rank or a fixed dimension differs
     */
    public static void checkShape(String label, TensorSpec spec, long[] shape) {
        boolean fits = spec.rank() == shape.length;
        for (int i = 0; fits && i < shape.length; i++) {
            fits = spec.dim(i) < 0 || spec.dim(i) == shape[i];
        }
        if (!fits) {
            throw new IllegalArgumentException(label + ": " + spec.name() + " is " + spec.describe()
                    + ", bound to shape " + Shapes.format(shape));
        }
    }

    /**
     * The host tensor bound to {@code name}.
     *
     * @throws IllegalArgumentException naming the tensor when it is not in host memory
     */
    public static HostTensor host(String label, String name, Tensor tensor) {
        if (tensor instanceof HostTensor h) {
            return h;
        }
        throw new IllegalArgumentException(label + ": `" + name + "` is bound to " + tensor
                + "; this engine binds host tensors only");
    }

    /**
     * Checks {@code tensor}'s shape against the declaration and adapts its type.
     *
     * @throws IllegalArgumentException naming the tensor when the shape does not fit or the types
     *                                  cannot be converted
     */
    public static Adapted adapt(String label, TensorSpec spec, HostTensor tensor, boolean input) {
        long[] shape = tensor.shape();
        checkShape(label, spec, shape);
        if (spec.dataType() == tensor.dataType()) {
            return new Adapted(tensor, null);
        }
        int n = tensor.size();
        if (spec.dataType() == DataType.FLOAT16 && tensor.dataType() == DataType.FLOAT32) {
            HostTensor shadow = HostTensor.allocate(spec.dataType(), shape);
            return new Adapted(shadow, input ? () -> Float16.fromFloats(tensor.floatBuffer(), shadow.halfBuffer(), n)
                    : () -> Float16.toFloats(shadow.halfBuffer(), tensor.floatBuffer(), n));
        }
        if (spec.dataType() == DataType.INT32 && tensor.dataType() == DataType.INT64) {
            HostTensor shadow = HostTensor.allocate(spec.dataType(), shape);
            return new Adapted(shadow, input ? () -> {
                var src = tensor.longBuffer();
                var dst = shadow.intBuffer();
                for (int i = 0; i < n; i++) {
                    dst.put(i, Math.toIntExact(src.get(i)));
                }
            } : () -> {
                var src = shadow.intBuffer();
                var dst = tensor.longBuffer();
                for (int i = 0; i < n; i++) {
                    dst.put(i, src.get(i));
                }
            });
        }
        throw new IllegalArgumentException(label + ": " + spec.name() + " is " + spec.describe() + ", bound to a "
                + tensor.dataType() + " tensor");
    }
}
