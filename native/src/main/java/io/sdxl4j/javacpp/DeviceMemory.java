// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.OptionalLong;
import java.util.Set;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;

/**
 * The device loop's one queue of work, and the one place where the host waits for it. Copies
 * between host memory and the memory ONNX Runtime allocates for the provider, and every session
 * run of the device path, go through here in program order onto a single {@link Stream}: on CUDA
 * a CUDA stream that every session of the engine also runs on (the provider's
 * {@code user_compute_stream}); on the CPU ({@code javacpp-resident}) a queue that runs its copies
 * late, when the host needs them done, as a GPU would.
 *
 * <p>Nothing here waits unless the host must read what the device wrote:
 * <ul>
 *   <li>{@link #upload} copies the host values into a staging ring first (pinned memory on CUDA)
 *   and queues the copy from there, so the caller may reuse its memory at once and the copy still
 *   carries the values of the moment it was queued. A slot of the ring is reused only after the
 *   copy that read it has run (a fence per copy); when the host is a whole ring ahead of the device
 *   it waits for the oldest fence, which counts as a host synchronization.</li>
 *   <li>{@link #run} queues a session run behind everything queued before it, with ONNX Runtime's
 *   own end-of-run wait turned off ({@link #runOptions}: {@code disable_synchronize_execution_providers}).
 *   The order is correct without any wait because everything is on one stream: a kernel session
 *   reads the coefficients its upload wrote, the UNet reads the timestep, and the next copy into a
 *   tensor comes after the run that read it.</li>
 *   <li>{@link #download} and {@link #synchronize} wait: the only host synchronizations of the
 *   loop, counted in {@link #hostSynchronizations()}.</li>
 * </ul>
 *
 * <p>The CPU and CUDA paths share all of this code; only the {@link Stream} differs, so the counts
 * a test reads on the CPU are the counts the same calls make on CUDA. One wait the CPU cannot show:
 * with CUDA graphs, ONNX Runtime's CUDA provider itself waits for the stream after each graph
 * replay (its {@code cuda_graph.cc}, no option to turn it off); {@link #run} counts those runs as
 * host synchronizations too.
 *
 * <p>Thread-safe (the components load side by side); a generation uses it from one thread.
 */
final class DeviceMemory implements AutoCloseable {

    /** ONNX Runtime's run option that skips the provider's stream synchronization at the end of a run. */
    static final String NO_SYNC_AT_RUN_END = "disable_synchronize_execution_providers";

    /** The staging ring: room for a step's coefficients many times over, and for the conditioning of a batch. */
    static final long STAGING_BYTES = 8L << 20;
    /** Copies in flight through the ring at most (one fence each). */
    static final int FENCES = 1024;
    private static final long ALIGNMENT = 256;

    /** The device's queue: what differs between CUDA and the CPU. Addresses are raw. */
    interface Stream extends AutoCloseable {
        /** Host memory the device can copy from without a staging copy of its own (pinned on CUDA). */
        long allocateStaging(long bytes);

        void freeStaging(long address);

        /** Queues a copy of {@code bytes} from {@code src} to {@code dst}. */
        void copy(long dst, long src, long bytes, Direction direction);

        /** Queues zeroing {@code bytes} at {@code dst}. */
        void zero(long dst, long bytes);

        /** Queues fence {@code fence}: reached once everything queued before it has run. */
        void record(int fence);

        /** Whether fence {@code fence} is reached, without waiting. */
        boolean reached(int fence);

        /** Waits for fence {@code fence}. */
        void await(int fence);

        /** Waits for everything queued. */
        void synchronize();

        /** A session run is about to be queued on this stream. */
        void beforeRun();

        /** Device memory that queued work may touch is about to be freed. */
        void beforeFree();

        /** The native stream for the providers' {@code user_compute_stream}; empty for the CPU. */
        OptionalLong handle();

        @Override
        void close();
    }

    enum Direction { HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE }

    private final Stream stream;
    private final long capacity;
    private final long chunk;
    private final long staging;
    /** Logical start (position in the endless sequence of ring bytes) of each copy in flight, by fence. */
    private final long[] starts = new long[FENCES];
    private final Set<RunOptions> configured = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Address to = new Address();
    private final Address from = new Address();
    private int oldest;
    private int inFlight;
    private long head;
    private long synchronizations;
    private long stalls;
    private long runs;
    private long uploads;
    private boolean closed;

    DeviceMemory(Stream stream, long stagingBytes) {
        if (stagingBytes < 4 * ALIGNMENT) {
            throw new IllegalArgumentException("staging ring of " + stagingBytes + " bytes");
        }
        this.stream = stream;
        this.capacity = stagingBytes;
        this.chunk = stagingBytes / 4;
        try {
            this.staging = stream.allocateStaging(stagingBytes);
        } catch (RuntimeException | Error e) {
            stream.close();
            throw e;
        }
    }

    /** ONNX Runtime's CPU memory, through a queue run late ({@link HostStream}). */
    static DeviceMemory host() {
        return new DeviceMemory(new HostStream(), STAGING_BYTES);
    }

    /** The memory of CUDA device {@code deviceId}, through a stream of its own. */
    static DeviceMemory cuda(int deviceId) {
        return new DeviceMemory(new CudaStream(deviceId, FENCES), STAGING_BYTES);
    }

    /** The native stream every session of the engine must run on; empty on the CPU. */
    OptionalLong computeStream() {
        return stream.handle();
    }

    /** Queues zeroing {@code bytes} bytes at {@code device}. */
    synchronized void zero(Pointer device, long bytes) {
        checkOpen();
        stream.zero(address(device), bytes);
    }

    /**
     * Queues a copy of {@code bytes} bytes from {@code host} to {@code device}. The values are
     * taken now: {@code host} may be overwritten as soon as this returns.
     */
    synchronized void upload(Pointer device, Pointer host, long bytes) {
        checkOpen();
        long dst = address(device);
        long src = address(host);
        uploads++;
        for (long done = 0; done < bytes; ) {
            long n = Math.min(chunk, bytes - done);
            long at = reserve(n);
            long slot = staging + at % capacity;
            Pointer.memcpy(to.at(slot), from.at(src + done), n);
            stream.copy(dst + done, slot, n, Direction.HOST_TO_DEVICE);
            commit(at, n);
            done += n;
        }
    }

    /** Device to host, waiting for it (a host synchronization). */
    void download(Pointer host, Pointer device, long bytes) {
        downloadLater(host, device, bytes);
        synchronize();
    }

    /** Queues a copy from device to host: the host memory holds it after the next {@link #synchronize()}. */
    synchronized void downloadLater(Pointer host, Pointer device, long bytes) {
        checkOpen();
        stream.copy(address(host), address(device), bytes, Direction.DEVICE_TO_HOST);
    }

    /** Queues a device to device copy. */
    synchronized void copy(Pointer dst, Pointer src, long bytes) {
        checkOpen();
        stream.copy(address(dst), address(src), bytes, Direction.DEVICE_TO_DEVICE);
    }

    /** Waits until everything queued so far, copies and session runs, is done: a host synchronization. */
    synchronized void synchronize() {
        checkOpen();
        synchronizations++;
        stream.synchronize();
        inFlight = 0;
    }

    /**
     * Run options for sessions on this queue: ONNX Runtime does not wait for the provider's stream at
     * the end of a run (the order is the stream's; see the class comment). Closed by the caller.
     */
    synchronized RunOptions runOptions() {
        RunOptions o = new RunOptions();
        o.AddConfigEntry(NO_SYNC_AT_RUN_END, "1");
        configured.add(o);
        return o;
    }

    /** Forgets options made by {@link #runOptions()} before they are closed. */
    synchronized void forget(RunOptions o) {
        configured.remove(o);
    }

    /**
     * Queues a run of {@code session} behind everything queued before. A run with options not made
     * by {@link #runOptions()} ends with ONNX Runtime's wait for the stream, and one that replays a
     * CUDA graph ({@code replaysGraph}) with the CUDA provider's own wait; both count as host
     * synchronizations.
     */
    void run(Session session, RunOptions options, IoBinding io, boolean replaysGraph) {
        synchronized (this) {
            checkOpen();
            stream.beforeRun();
            runs++;
            if (replaysGraph || !configured.contains(options)) {
                synchronizations++;
            }
        }
        session.Run(options, io);
    }

    /** Device memory is about to be freed (a tensor closed): on the CPU the queued work that may touch it runs first. */
    synchronized void beforeFree() {
        if (!closed) {
            stream.beforeFree();
        }
    }

    /** Host synchronizations so far: waits in {@link #download}, {@link #synchronize}, ring stalls and runs that wait. */
    synchronized long hostSynchronizations() {
        return synchronizations;
    }

    /** Of {@link #hostSynchronizations()}, the waits for a ring slot (the host a whole ring ahead). */
    synchronized long stalls() {
        return stalls;
    }

    /** Session runs queued so far. */
    synchronized long runs() {
        return runs;
    }

    /** Uploads so far. */
    synchronized long uploads() {
        return uploads;
    }

    /**
     * The logical position of {@code bytes} ring bytes, once no copy in flight still reads them. A
     * piece never straddles the ring's end: it starts the next lap instead.
     */
    private long reserve(long bytes) {
        long at = (head + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (at % capacity + bytes > capacity) {
            at = (at / capacity + 1) * capacity;
        }
        // [at, at + bytes) reuses the bytes the previous lap wrote at [at − capacity, at + bytes − capacity):
        // every copy in flight that started there must have run. Those that started later lie in
        // [at + bytes − capacity, at), which the new piece does not touch.
        long reusedBelow = at + bytes - capacity;
        while (inFlight > 0 && (inFlight == FENCES || starts[oldest] < reusedBelow)) {
            if (!stream.reached(oldest)) {
                stalls++;
                synchronizations++;
                stream.await(oldest);
            }
            oldest = (oldest + 1) % FENCES;
            inFlight--;
        }
        return at;
    }

    private void commit(long at, long bytes) {
        int fence = (oldest + inFlight) % FENCES;
        starts[fence] = at;
        stream.record(fence);
        inFlight++;
        head = at + bytes;
    }

    private static long address(Pointer p) {
        return p.address() + p.position() * p.sizeof();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("device memory closed");
        }
    }

    /** Waits for the queue, frees the ring and the stream; may be called twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stream.synchronize();
        } finally {
            stream.freeStaging(staging);
            stream.close();
        }
    }

    /** A pointer at a raw address, reused so that a copy allocates nothing. */
    static final class Address extends Pointer {
        Address at(long a) {
            address = a;
            position = 0;
            limit = 0;
            capacity = 0;
            return this;
        }
    }
}
