// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import java.util.OptionalLong;
import org.bytedeco.javacpp.Pointer;

/**
 * The device queue of the CPU ({@code javacpp-resident}): ONNX Runtime's CPU memory, with copies
 * run late, as a GPU runs them behind the host. Each copy, zeroing and fence is queued and runs
 * only when something needs it done: before a session run (ONNX Runtime's CPU provider runs a
 * session at once, where on a GPU the run would be queued behind these copies), when the host
 * waits ({@link #synchronize}, {@link #await}), before memory is freed, or when the queue is full
 * (a device may run as far ahead of the host's waits as it likes). So a host read that forgot to
 * wait, or a staging slot reused before its copy ran, shows on the CPU as wrong numbers in the
 * tests, not only on a GPU. Allocates nothing after construction.
 */
final class HostStream implements DeviceMemory.Stream {

    private static final int QUEUE = 4096;
    private static final byte COPY = 0;
    private static final byte ZERO = 1;
    private static final byte FENCE = 2;

    private final byte[] kind = new byte[QUEUE];
    private final long[] dst = new long[QUEUE];
    private final long[] src = new long[QUEUE];
    private final long[] bytes = new long[QUEUE];
    private final boolean[] reached = new boolean[DeviceMemory.FENCES];
    private final DeviceMemory.Address to = new DeviceMemory.Address();
    private final DeviceMemory.Address from = new DeviceMemory.Address();
    private int queued;

    @Override
    public long allocateStaging(long size) {
        Pointer p = Pointer.malloc(size);
        if (p == null || p.isNull()) {
            throw new OutOfMemoryError("staging ring of " + size + " bytes");
        }
        return p.address();
    }

    @Override
    public void freeStaging(long address) {
        Pointer.free(to.at(address));
    }

    @Override
    public void copy(long to, long from, long size, DeviceMemory.Direction direction) {
        add(COPY, to, from, size);
    }

    @Override
    public void zero(long at, long size) {
        add(ZERO, at, 0, size);
    }

    @Override
    public void record(int fence) {
        reached[fence] = false;
        add(FENCE, fence, 0, 0);
    }

    @Override
    public boolean reached(int fence) {
        return reached[fence];
    }

    @Override
    public void await(int fence) {
        drain();
    }

    @Override
    public void synchronize() {
        drain();
    }

    @Override
    public void beforeRun() {
        drain();
    }

    @Override
    public void beforeFree() {
        drain();
    }

    @Override
    public OptionalLong handle() {
        return OptionalLong.empty();
    }

    /** Operations queued and not yet run (for tests). */
    int queued() {
        return queued;
    }

    private void add(byte k, long d, long s, long n) {
        if (queued == QUEUE) {
            drain();
        }
        kind[queued] = k;
        dst[queued] = d;
        src[queued] = s;
        bytes[queued] = n;
        queued++;
    }

    /** Runs everything queued, in order. */
    private void drain() {
        for (int i = 0; i < queued; i++) {
            switch (kind[i]) {
                case COPY -> Pointer.memcpy(to.at(dst[i]), from.at(src[i]), bytes[i]);
                case ZERO -> Pointer.memset(to.at(dst[i]), 0, bytes[i]);
                default -> reached[(int) dst[i]] = true;
            }
        }
        queued = 0;
    }

    @Override
    public void close() {
        drain();
    }
}
