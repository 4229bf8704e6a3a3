// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.SdxlException;
import io.sdxl4j.engine.Binding;
import io.sdxl4j.engine.Bindings;
import io.sdxl4j.engine.TensorSpec;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * An {@code IoBinding} made once per generation shape: every graph tensor is an {@code OrtValue}
 * at a fixed address. Host tensors on a host engine are bound as they are (ONNX Runtime reads the
 * inputs and writes the outputs in place); with device-resident tensors, the engine's own tensors
 * are bound as they are and each host tensor gets a device twin that a run fills before and copies
 * back after. A float32 tensor bound to a float16 graph tensor goes through a converted shadow, on
 * the host for host tensors and by a cast kernel on the device for device tensors. A run allocates
 * nothing.
 *
 * <p>With device-resident tensors a run waits for the device only where the host reads: the twins'
 * uploads, the casts and the session run are queued on the engine's one queue
 * ({@link DeviceMemory}), without ONNX Runtime's end-of-run wait, and the host outputs' downloads
 * are queued after them and waited for once. A UNet step, whose inputs and outputs are all device
 * tensors but the timestep's twin, so never waits (unless the session replays a CUDA graph, where
 * ONNX Runtime's CUDA provider waits after each replay).
 */
final class JavaCppBinding implements Binding {

    private final Session session;
    private final String label;
    private final MemoryInfo hostMemory;
    private final OrtTensorOps resident;
    private final IoBinding io;
    private final RunOptions runOptions;
    private final List<Runnable> hostBefore = new ArrayList<>();
    private final List<Runnable> deviceBefore = new ArrayList<>();
    private final List<Runnable> deviceAfter = new ArrayList<>();
    private final List<Runnable> downloads = new ArrayList<>();
    private final List<Runnable> hostAfter = new ArrayList<>();
    private final boolean replaysGraph;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private boolean closed;

    /**
     * @param graphId the CUDA graph this binding captures and replays (ONNX Runtime's run option
     *                {@code gpu_graph_id}), or -1 when the session captures none
     * @param arenaShrinkage whether every run shrinks the CPU arena (ONNX Runtime's run option
     *                {@code memory.enable_memory_arena_shrinkage}, {@code PipelineOptions.arenaShrinkage()})
     */
    JavaCppBinding(Session session, String label, MemoryInfo hostMemory, OrtTensorOps resident, int graphId,
                   boolean arenaShrinkage) {
        this.session = session;
        this.label = label;
        this.hostMemory = hostMemory;
        this.resident = resident;
        this.io = own(new IoBinding(session));
        this.replaysGraph = graphId >= 0;
        if (resident != null) {
            RunOptions o = resident.transfers().runOptions();
            this.runOptions = own(() -> {
                resident.transfers().forget(o);
                o.close();
            }, o);
        } else {
            this.runOptions = own(new RunOptions());
        }
        if (graphId >= 0) {
            runOptions.AddConfigEntry("gpu_graph_id", Integer.toString(graphId));
        }
        if (arenaShrinkage) {
            runOptions.AddConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        }
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    private <T> T own(AutoCloseable release, T resource) {
        owned.add(release);
        return resource;
    }

    /** Binds {@code tensor} to the graph tensor {@code spec} (an input or an output). */
    void bind(TensorSpec spec, Tensor tensor, boolean input) {
        Value value = switch (tensor) {
            case HostTensor h -> hostValue(spec, h, input);
            case OrtTensor o -> deviceValue(spec, o, input);
            default -> throw new IllegalArgumentException(label + ": `" + spec.name() + "` is bound to " + tensor
                    + "; the javacpp engine binds host tensors and its own");
        };
        try (BytePointer name = new BytePointer(spec.name())) {
            if (input) {
                io.BindInput(name, value);
            } else {
                io.BindOutput(name, value);
            }
        } catch (RuntimeException e) {
            throw new SdxlException(label + ": cannot bind " + (input ? "input" : "output") + " `" + spec.name()
                    + "`: " + e.getMessage(), e);
        }
    }

    private Value hostValue(TensorSpec spec, HostTensor tensor, boolean input) {
        Bindings.Adapted a = Bindings.adapt(label, spec, tensor, input);
        if (a.converted()) {
            own(a.bound());
            (input ? hostBefore : hostAfter).add(a.convert());
        }
        HostTensor bound = a.bound();
        if (resident == null) {
            long[] shape = bound.shape();
            try (LongPointer dims = new LongPointer(Math.max(shape.length, 1))) {
                if (shape.length > 0) {
                    dims.put(shape);
                }
                Pointer data = own(new Pointer(bound.byteBuffer()));
                return own(Value.CreateTensor(hostMemory.asOrtMemoryInfo(), data, bound.byteBuffer().remaining(),
                        dims, shape.length, Natives.elementType(bound.dataType())));
            }
        }
        OrtTensor twin = own(resident.allocate(bound.dataType(), bound.shape()));
        if (input) {
            hostBefore.add(() -> resident.upload(twin, bound));
        } else {
            downloads.add(() -> resident.downloadLater(bound, twin));
        }
        return twin.value();
    }

    private Value deviceValue(TensorSpec spec, OrtTensor tensor, boolean input) {
        Bindings.checkShape(label, spec, tensor.dims());
        if (spec.dataType() == tensor.dataType()) {
            return tensor.value();
        }
        if (resident == null || spec.dataType() != DataType.FLOAT16 || tensor.dataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException(label + ": " + spec.name() + " is " + spec.describe() + ", bound to a "
                    + tensor.dataType() + " tensor");
        }
        OrtTensor shadow = own(resident.allocate(DataType.FLOAT16, tensor.shape()));
        if (input) {
            deviceBefore.add(() -> resident.cast(shadow, tensor));
        } else {
            deviceAfter.add(() -> resident.cast(tensor, shadow));
        }
        return shadow.value();
    }

    @Override
    public void run() {
        if (closed) {
            throw new IllegalStateException(label + ": binding closed");
        }
        runAll(hostBefore);
        runAll(deviceBefore);
        try {
            if (resident != null) {
                resident.transfers().run(session, runOptions, io, replaysGraph);
            } else {
                session.Run(runOptions, io);
            }
        } catch (RuntimeException e) {
            throw new SdxlException(label + ": inference failed: " + e.getMessage(), e);
        }
        runAll(deviceAfter);
        if (!downloads.isEmpty()) {
            runAll(downloads);
            // The host reads its outputs: the one wait, after every download is queued.
            resident.synchronize();
        }
        runAll(hostAfter);
    }

    private static void runAll(List<Runnable> steps) {
        for (int i = 0; i < steps.size(); i++) {
            steps.get(i).run();
        }
    }

    /** Releases the binding, its OrtValues, device twins and shadows; may be called twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Natives.closeAll(owned);
    }
}
