// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;

import io.sdxl4j.SdxlException;
import io.sdxl4j.random.NoiseSource;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.Shapes;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.Allocator;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.Value;

/**
 * {@link TensorOps} on {@link OrtTensor}s: the loop's arithmetic stays where the tensors are. Each
 * operation runs one {@link Kernel} graph through its own ONNX Runtime session on the engine's
 * provider, through an {@code IoBinding} made the first time that operation meets that
 * combination of tensors and kept by the output tensor; later calls only queue the scalar
 * coefficients' upload and the run. The schedulers, guidance and inpainting drive this exactly as
 * they drive {@link io.sdxl4j.tensor.HostTensorOps}: one implementation of the math, host or device.
 *
 * <p>Every copy and run goes through the engine's {@link DeviceMemory}, one queue in program
 * order: an operation never waits for the device, except {@link #download} and
 * {@link #stdPerItem}, whose results the host reads.
 *
 * <p>Small graphs through the session machinery rather than CUDA kernels of this module: they
 * need no nvcc at build time, run on every provider the build has (so the CPU tests exercise the
 * same code path as a GPU), and cost one session run each, which on the CPU measured no more than
 * the host loop each replaces ({@code bench/RESULTS.md}, "Engines"); on a GPU that comparison is
 * still to be measured.
 */
final class OrtTensorOps implements TensorOps, AutoCloseable {

    private final Map<Kernel, Session> sessions = new EnumMap<>(Kernel.class);
    private final Function<byte[], Session> open;
    private final MemoryInfo memory;
    private final DeviceMemory transfers;
    private final RunOptions runOptions;
    private final BytePointer[] tensorNames = names(Kernel.TENSOR_INPUTS);
    private final BytePointer[] scalarNames = names(Kernel.SCALAR_INPUTS);
    private final BytePointer outName = new BytePointer("out");
    private final Set<OrtTensor> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private Allocator allocator;
    private boolean closed;

    /**
     * @param open      opens a kernel model as a session on the engine's provider
     * @param memory    the memory the tensors live in (CUDA device memory, or the CPU's)
     * @param transfers the copies into and out of that memory and the queue the runs go on; closed
     *                  with this
     */
    OrtTensorOps(Function<byte[], Session> open, MemoryInfo memory, DeviceMemory transfers) {
        this.open = open;
        this.memory = memory;
        this.transfers = transfers;
        this.runOptions = transfers.runOptions();
    }

    private static BytePointer[] names(String[] names) {
        BytePointer[] p = new BytePointer[names.length];
        for (int i = 0; i < names.length; i++) {
            p[i] = new BytePointer(names[i]);
        }
        return p;
    }

    private Session session(Kernel k) {
        checkOpen();
        Session s = sessions.get(k);
        if (s == null) {
            s = open.apply(k.model());
            sessions.put(k, s);
        }
        return s;
    }

    private Allocator allocator() {
        if (allocator == null) {
            // An allocator comes from a session; any kernel's session shares the provider's.
            allocator = new Allocator(session(Kernel.SCALE), memory.asOrtMemoryInfo());
        }
        return allocator;
    }

    // --- tensors ----------------------------------------------------------------------------------

    @Override
    public OrtTensor allocate(long... shape) {
        return allocate(DataType.FLOAT32, shape);
    }

    @Override
    public OrtTensor allocate(DataType type, long... shape) {
        checkOpen();
        OrtTensor t = OrtTensor.allocate(allocator(), type, shape, live, transfers);
        transfers.zero(t.data(), t.bytes());
        return t;
    }

    @Override
    public boolean hostResident() {
        return false;
    }

    @Override
    public void upload(Tensor dst, HostTensor src) {
        OrtTensor d = tensor(dst);
        requireSameLayout(d, src);
        transfers.upload(d.data(), d.hostPointer(src), d.bytes());
    }

    /** Device to host: waits for the device (a host synchronization). */
    @Override
    public void download(HostTensor dst, Tensor src) {
        OrtTensor s = tensor(src);
        requireSameLayout(s, dst);
        transfers.download(s.hostPointer(dst), s.data(), s.bytes());
    }

    /** Queues a download: {@code dst} holds it after the next {@link #synchronize()}. */
    void downloadLater(HostTensor dst, OrtTensor src) {
        OrtTensor s = tensor(src);
        requireSameLayout(s, dst);
        transfers.downloadLater(s.hostPointer(dst), s.data(), s.bytes());
    }

    /** Waits until everything queued is done (a host synchronization). */
    void synchronize() {
        checkOpen();
        transfers.synchronize();
    }

    /** The queue of this engine's copies and runs, with its counts. */
    DeviceMemory transfers() {
        return transfers;
    }

    private static void requireSameLayout(OrtTensor t, HostTensor h) {
        if (t.dataType() != h.dataType() || t.elementCount() != h.elementCount()) {
            throw new IllegalArgumentException("copy between " + t + " and " + h);
        }
    }

    @Override
    public OrtTensor slice(Tensor t, long from, long to) {
        OrtTensor x = tensor(t);
        long[] shape = x.dims();
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IllegalArgumentException("slice [" + from + ", " + to + ") of shape " + Shapes.format(shape));
        }
        long row = Shapes.elementCount(shape) / Math.max(shape[0], 1);
        return x.view(memory, from * row, Shapes.withBatch(shape, to - from));
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        OrtTensor d = tensor(dst);
        OrtTensor s = tensor(src);
        if (d.dataType() != s.dataType() || d.elementCount() != s.elementCount()) {
            throw new IllegalArgumentException("copy " + s + " into " + d);
        }
        if (d != s) {
            transfers.copy(d.data(), s.data(), d.bytes());
        }
    }

    // --- arithmetic -------------------------------------------------------------------------------

    @Override
    public void scale(Tensor dst, float a, Tensor x) {
        run(Kernel.SCALE, dst, x, null, null, a, 0, 0);
    }

    @Override
    public void axpby(Tensor dst, float a, Tensor x, float b, Tensor y) {
        run(Kernel.AXPBY, dst, x, y, null, a, b, 0);
    }

    @Override
    public void axpbypcz(Tensor dst, float a, Tensor x, float b, Tensor y, float c, Tensor z) {
        run(Kernel.AXPBYPCZ, dst, x, y, z, a, b, c);
    }

    @Override
    public void accumulate(Tensor dst, float w, Tensor t) {
        run(Kernel.ACCUMULATE, dst, dst, t, null, w, 0, 0);
    }

    @Override
    public void scaleIntoChannels(Tensor dst, int channelOffset, float a, Tensor src) {
        OrtTensor d = tensor(dst);
        OrtTensor s = tensor(src);
        long[] ds = d.dims();
        long[] ss = s.dims();
        if (ds.length != 4 || ss.length != 4 || ds[0] != ss[0] || ds[2] != ss[2] || ds[3] != ss[3]
                || channelOffset < 0 || channelOffset + ss[1] > ds[1]) {
            throw new IllegalArgumentException("channels " + channelOffset + "+ of " + d + " from " + s);
        }
        if (channelOffset == 0 && ss[1] == ds[1]) {
            scale(d, a, s);
            return;
        }
        // Each item's channel range is one contiguous block: scale item by item into views.
        long plane = ss[2] * ss[3];
        long[] block = {1, ss[1], ss[2], ss[3]};
        for (int n = 0; n < ss[0]; n++) {
            OrtTensor to = d.view(memory, (n * ds[1] + channelOffset) * plane, block);
            OrtTensor from = s.view(memory, n * ss[1] * plane, block);
            scale(to, a, from);
        }
    }

    @Override
    public void maskedBlend(Tensor dst, Tensor keep, Tensor mask) {
        OrtTensor d = tensor(dst);
        long[] ds = d.dims();
        long[] ms = tensor(mask).dims();
        if (d.elementCount() != tensor(keep).elementCount() || ms.length != 4 || ds.length != 4 || ms[0] != ds[0]
                || ms[1] != 1 || ms[2] != ds[2] || ms[3] != ds[3]) {
            throw new IllegalArgumentException("blend " + d + " with " + keep + " under mask " + mask);
        }
        run(Kernel.BLEND, dst, dst, keep, mask, 0, 0, 0);
    }

    @Override
    public void clamp(Tensor dst, Tensor x, float lo, float hi) {
        run(Kernel.CLIP, dst, x, null, null, lo, hi, 0);
    }

    @Override
    public void stdPerItem(Tensor x, double[] out) {
        OrtTensor t = tensor(x);
        int items = (int) t.dims()[0];
        if (out.length < items) {
            throw new IllegalArgumentException("out: " + out.length + " slots for " + items + " items");
        }
        KernelRun r = binding(Kernel.MEAN_SQUARED_DEVIATION, t, t, null, null);
        r.run(0, 0, 0);
        // The host reads the result: the one wait of an operation (guidance rescale, twice a step).
        transfers.download(r.hostOut, r.deviceOutData, 8L * items);
        long per = t.elementCount() / Math.max(items, 1);
        for (int i = 0; i < items; i++) {
            // Bessel's correction, as torch's std: Σ(x − mean)² / (n − 1).
            out[i] = Math.sqrt(r.hostOut.get(i) * per / Math.max(per - 1, 1));
        }
    }

    @Override
    public void randn(Tensor dst, NoiseSource noise) {
        // The draws are the CPU generator's (as diffusers draws on the CPU and moves the noise).
        OrtTensor d = tensor(dst);
        HostTensor staging = d.staging();
        noise.randn(staging.floatBuffer(), staging.size());
        upload(d, staging);
    }

    /** {@code dst = cast(src)} between float32 and float16 (the boundary of fp16 exports). */
    void cast(OrtTensor dst, OrtTensor src) {
        Kernel k = src.dataType() == DataType.FLOAT32 ? Kernel.TO_HALF : Kernel.TO_FLOAT;
        run(k, dst, src, null, null, 0, 0, 0);
    }

    private void run(Kernel k, Tensor dst, Tensor x, Tensor y, Tensor z, float s0, float s1, float s2) {
        OrtTensor d = tensor(dst);
        long n = d.elementCount();
        OrtTensor tx = operand(x, n);
        OrtTensor ty = y == null ? null : operand(y, n);
        // The mask of a blend broadcasts over the channels; every other operand has dst's size.
        OrtTensor tz = z == null ? null : k == Kernel.BLEND ? tensor(z) : operand(z, n);
        binding(k, d, tx, ty, tz).run(s0, s1, s2);
    }

    private OrtTensor operand(Tensor t, long count) {
        OrtTensor o = tensor(t);
        if (o.elementCount() != count) {
            throw new IllegalArgumentException("operand of " + o.elementCount() + " elements, expected " + count);
        }
        return o;
    }

    /** The binding of kernel {@code k} writing {@code out} from these operands: found, or made once. */
    private KernelRun binding(Kernel k, OrtTensor out, OrtTensor x, OrtTensor y, OrtTensor z) {
        List<AutoCloseable> writers = out.writers;
        for (int i = 0; i < writers.size(); i++) {
            KernelRun r = (KernelRun) writers.get(i);
            if (r.kernel == k && r.x == x && r.y == y && r.z == z) {
                return r;
            }
        }
        return new KernelRun(k, out, x, y, z);
    }

    /**
     * {@code t} as this engine's tensor, open, with the engine open: every operation checks here,
     * so that a closed tensor or engine throws instead of running a kernel on freed memory.
     */
    private OrtTensor tensor(Tensor t) {
        checkOpen();
        if (!(t instanceof OrtTensor o)) {
            throw new IllegalArgumentException("not a tensor of the javacpp engine: " + t);
        }
        if (o.isClosed()) {
            throw new IllegalStateException(o + " used after close");
        }
        return o;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("javacpp engine closed");
        }
    }

    /**
     * One kernel bound to its tensors, listed as a writer of its output and a reader of its
     * operands, and closed when any of them is. The scalars live in a small tensor of the engine's
     * memory, bound once; each run queues the upload of the new values into it, then the run,
     * both on the engine's one queue, so the run reads the values of its own call (binding a host
     * value again instead would allocate, and ONNX Runtime copies a host input to the device when it
     * is bound, not when the session runs, with a wait of its own).
     */
    private final class KernelRun implements AutoCloseable {
        final Kernel kernel;
        final OrtTensor out;
        final OrtTensor x;
        final OrtTensor y;
        final OrtTensor z;
        final Session session;
        final IoBinding io;
        final FloatPointer scalars;
        final OrtTensor scalarBlock;
        final DoublePointer hostOut;
        final Value deviceOut;
        final Pointer deviceOutData;
        boolean closed;

        KernelRun(Kernel kernel, OrtTensor out, OrtTensor x, OrtTensor y, OrtTensor z) {
            this.kernel = kernel;
            this.out = out;
            this.x = x;
            this.y = y;
            this.z = z;
            this.session = session(kernel);
            this.io = new IoBinding(session);
            OrtTensor[] operands = {x, y, z};
            for (int i = 0; i < kernel.tensors; i++) {
                io.BindInput(tensorNames[i], operands[i].value());
            }
            this.scalars = new FloatPointer(Math.max(kernel.scalars, 1));
            this.scalarBlock = kernel.scalars > 0 ? allocate(kernel.scalars) : null;
            for (int i = 0; i < kernel.scalars; i++) {
                io.BindInput(scalarNames[i], scalarBlock.view(memory, i, new long[0]).value());
            }
            if (kernel == Kernel.MEAN_SQUARED_DEVIATION) {
                // Into the engine's memory, downloaded on the queue (an output bound in host memory
                // would be copied by ONNX Runtime and need its device-wide wait).
                long items = x.dims()[0];
                hostOut = new DoublePointer(items);
                try (LongPointer shape = new LongPointer(1)) {
                    shape.put(0, items);
                    deviceOut = Value.CreateTensor(allocator().asOrtAllocator(), shape, 1,
                            ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);
                }
                deviceOutData = deviceOut.GetTensorMutableRawData();
                io.BindOutput(outName, deviceOut);
            } else {
                hostOut = null;
                deviceOut = null;
                deviceOutData = null;
                io.BindOutput(outName, out.value());
            }
            out.writers.add(this);
            for (int i = 0; i < kernel.tensors; i++) {
                if (operands[i] != out && !operands[i].readers.contains(this)) {
                    operands[i].readers.add(this);
                }
            }
        }

        void run(float s0, float s1, float s2) {
            if (kernel.scalars > 0) {
                scalars.put(0, s0);
                if (kernel.scalars > 1) {
                    scalars.put(1, s1);
                }
                if (kernel.scalars > 2) {
                    scalars.put(2, s2);
                }
                // Queued, not waited for: the run below is queued behind it on the same queue.
                transfers.upload(scalarBlock.data(), scalars, 4L * kernel.scalars);
            }
            try {
                transfers.run(session, runOptions, io, false);
            } catch (RuntimeException e) {
                throw new SdxlException("javacpp engine: kernel " + kernel + " failed: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            out.writers.remove(this);
            for (OrtTensor t : new OrtTensor[] {x, y, z}) {
                if (t != null) {
                    t.readers.remove(this);
                }
            }
            io.close();
            if (scalarBlock != null) {
                scalarBlock.close();
            }
            scalars.close();
            if (deviceOut != null) {
                transfers.beforeFree();
                deviceOut.close();
                hostOut.close();
            }
        }
    }

    /**
     * Closes the tensors still open (their owners should have, but freeing must not depend on it),
     * then the kernel sessions and the allocator; may be called twice.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        Natives.closeAll(new ArrayList<>(live));
        closed = true;
        if (allocator != null) {
            allocator.close();
        }
        memory.close();
        Natives.closeAll(new ArrayList<>(sessions.values()));
        sessions.clear();
        transfers.forget(runOptions);
        runOptions.close();
        outName.close();
        for (BytePointer p : tensorNames) {
            p.close();
        }
        for (BytePointer p : scalarNames) {
            p.close();
        }
        transfers.close();
    }

    @Override
    public String toString() {
        return "OrtTensorOps[" + memory + "]";
    }
}
