// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.SdxlException;
import java.util.OptionalLong;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Pointer;

/**
 * The device queue on CUDA: one non-blocking CUDA stream of the engine's own, which every session
 * of the engine also runs on (the CUDA provider's {@code user_compute_stream}; see
 * {@link JavaCppEngine}). Copies are {@code cudaMemcpyAsync}/{@code cudaMemsetAsync} on it,
 * fences CUDA events recorded on it, and the staging ring is pinned memory
 * ({@code cudaMallocHost}), from which a host-to-device copy is truly asynchronous and reads the
 * ring when the stream reaches it (which is why the ring waits for a slot's fence before reusing
 * it). Why no copy or run needs a wait:
 * <ul>
 *   <li>a CUDA stream runs its work in the order it was queued: an upload queued before a session
 *   run is done before the run's first kernel reads it, and a run's writes are done before a later
 *   download, copy or kernel on the stream touches them;</li>
 *   <li>ONNX Runtime's CUDA memory is an arena per session: memory freed by a run or by closing a
 *   tensor goes back to that arena, and its next user queues its work on this same stream, after
 *   the work that used it before ({@code cudaFree}, where the arena returns memory to CUDA,
 *   synchronizes by itself);</li>
 *   <li>a download to pageable host memory returns only once the copy is done, after everything
 *   queued before it; the following {@code cudaStreamSynchronize} then returns at once.</li>
 * </ul>
 * The legacy default stream is never used (the old {@code cudaMemcpy} was on it and ONNX Runtime's
 * streams do not wait for it, hence the device synchronization after every upload that this
 * replaces).
 */
final class CudaStream implements DeviceMemory.Stream {

    private final int deviceId;
    private final String selection;
    private final CUstream_st stream = new CUstream_st();
    private final CUevent_st[] events;
    private final DeviceMemory.Address a = new DeviceMemory.Address();
    private final DeviceMemory.Address b = new DeviceMemory.Address();

    CudaStream(int deviceId, int fences) {
        this.deviceId = deviceId;
        this.selection = "selection of device " + deviceId;
        current();
        check(cudart.cudaStreamCreateWithFlags(stream, cudart.cudaStreamNonBlocking), "stream creation", 0);
        events = new CUevent_st[fences];
        try {
            for (int i = 0; i < fences; i++) {
                events[i] = new CUevent_st();
                check(cudart.cudaEventCreateWithFlags(events[i], cudart.cudaEventDisableTiming), "event creation", 0);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void current() {
        check(cudart.cudaSetDevice(deviceId), selection, 0);
    }

    @Override
    public long allocateStaging(long bytes) {
        current();
        Pointer p = new Pointer();
        check(cudart.cudaMallocHost(p, bytes), "pinned allocation", bytes);
        return p.address();
    }

    @Override
    public void freeStaging(long address) {
        cudart.cudaFreeHost(a.at(address));
    }

    @Override
    public void copy(long dst, long src, long bytes, DeviceMemory.Direction direction) {
        current();
        int kind = switch (direction) {
            case HOST_TO_DEVICE -> cudart.cudaMemcpyHostToDevice;
            case DEVICE_TO_HOST -> cudart.cudaMemcpyDeviceToHost;
            case DEVICE_TO_DEVICE -> cudart.cudaMemcpyDeviceToDevice;
        };
        check(cudart.cudaMemcpyAsync(a.at(dst), b.at(src), bytes, kind, stream), direction.name(), bytes);
    }

    @Override
    public void zero(long dst, long bytes) {
        current();
        check(cudart.cudaMemsetAsync(a.at(dst), 0, bytes, stream), "memset", bytes);
    }

    @Override
    public void record(int fence) {
        check(cudart.cudaEventRecord(events[fence], stream), "event record", 0);
    }

    @Override
    public boolean reached(int fence) {
        int status = cudart.cudaEventQuery(events[fence]);
        if (status == cudart.cudaErrorNotReady) {
            // Not an error, but the runtime records it as the thread's last error, which ONNX
            // Runtime's kernels check after their launches: clear it (as PyTorch does).
            cudart.cudaGetLastError();
            return false;
        }
        check(status, "event query", 0);
        return true;
    }

    @Override
    public void await(int fence) {
        check(cudart.cudaEventSynchronize(events[fence]), "event synchronization", 0);
    }

    @Override
    public void synchronize() {
        check(cudart.cudaStreamSynchronize(stream), "stream synchronization", 0);
    }

    /** Nothing to do: the session runs on this stream, behind what is queued. */
    @Override
    public void beforeRun() {
    }

    /** Nothing to do: freed memory is reused in this stream's order (see the class comment). */
    @Override
    public void beforeFree() {
    }

    @Override
    public OptionalLong handle() {
        return OptionalLong.of(stream.address());
    }

    @Override
    public void close() {
        if (!stream.isNull()) {
            cudart.cudaStreamSynchronize(stream);
        }
        if (events != null) {
            for (CUevent_st e : events) {
                if (e != null && !e.isNull()) {
                    cudart.cudaEventDestroy(e);
                }
            }
        }
        if (!stream.isNull()) {
            cudart.cudaStreamDestroy(stream);
        }
    }

    private void check(int status, String what, long bytes) {
        if (status != cudart.cudaSuccess) {
            throw new SdxlException("CUDA device " + deviceId + ": " + what
                    + (bytes > 0 ? " of " + bytes + " bytes" : "") + " failed: "
                    + cudart.cudaGetErrorString(status).getString());
        }
    }
}
