// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/**
 * The device queue's staging ring and its counts, on the CPU's late-running queue ({@link HostStream}),
 * which runs a copy only when something needs it done: the worst case for a slot reused too early.
 * The same {@link DeviceMemory} code drives the CUDA stream.
 */
class DeviceMemoryTest {

    /** A ring of 4 KiB: pieces of at most 1 KiB, laps after 16 aligned uploads. */
    private static final long RING = 4096;

    @Test
    void uploadsCarryTheValuesOfTheMomentTheyWereQueued() {
        HostStream stream = new HostStream();
        try (DeviceMemory memory = new DeviceMemory(stream, RING);
             FloatPointer host = new FloatPointer(4);
             FloatPointer device = new FloatPointer(4 * 100)) {
            for (int i = 0; i < 100; i++) {
                host.put(0, i).put(1, -i).put(2, 0.5f * i).put(3, 7);
                memory.upload(device.getPointer(4L * i), host, 16);
                // The caller's buffer is reused at once, as the kernels' scalars are.
                host.put(0, Float.NaN).put(1, Float.NaN).put(2, Float.NaN).put(3, Float.NaN);
            }
            assertTrue(memory.stalls() > 0, "100 uploads through 16 slots, none run: the ring must wait for its slots");
            memory.synchronize();
            for (int i = 0; i < 100; i++) {
                assertEquals(i, device.get(4L * i));
                assertEquals(-i, device.get(4L * i + 1));
                assertEquals(0.5f * i, device.get(4L * i + 2));
                assertEquals(7, device.get(4L * i + 3));
            }
            assertEquals(memory.stalls() + 1, memory.hostSynchronizations(), "stalls and the one synchronize");
            assertEquals(100, memory.uploads());
        }
    }

    @Test
    void aRingThatKeepsUpNeverWaits() {
        HostStream stream = new HostStream();
        try (DeviceMemory memory = new DeviceMemory(stream, RING);
             FloatPointer host = new FloatPointer(3);
             FloatPointer device = new FloatPointer(3)) {
            for (int i = 0; i < 1000; i++) {
                host.put(0, i).put(1, 2 * i).put(2, 3 * i);
                memory.upload(device, host, 12);
                // A session run after each upload, as a kernel's: the queue runs up to it.
                stream.beforeRun();
                assertEquals(i, device.get(0));
                assertEquals(3 * i, device.get(2));
            }
            assertEquals(0, memory.stalls());
            assertEquals(0, memory.hostSynchronizations());
        }
    }

    @Test
    void anUploadLargerThanTheRingGoesInPieces() {
        HostStream stream = new HostStream();
        int n = 10_000;
        try (DeviceMemory memory = new DeviceMemory(stream, RING);
             FloatPointer host = new FloatPointer(n);
             FloatPointer device = new FloatPointer(n)) {
            for (int i = 0; i < n; i++) {
                host.put(i, i * 0.25f);
            }
            memory.upload(device, host, 4L * n);
            for (int i = 0; i < n; i++) {
                host.put(i, -1);
            }
            memory.synchronize();
            for (int i = 0; i < n; i++) {
                assertEquals(i * 0.25f, device.get(i), "element " + i);
            }
        }
    }

    @Test
    void copiesZeroingAndDownloadsRunInQueueOrder() {
        HostStream stream = new HostStream();
        try (DeviceMemory memory = new DeviceMemory(stream, RING);
             FloatPointer host = new FloatPointer(2);
             FloatPointer a = new FloatPointer(2);
             FloatPointer b = new FloatPointer(2);
             FloatPointer back = new FloatPointer(2)) {
            host.put(0, 1).put(1, 2);
            memory.upload(a, host, 8);
            memory.copy(b, a, 8);
            memory.zero(a, 8);
            assertTrue(stream.queued() > 0, "nothing has run yet");
            assertEquals(0, memory.hostSynchronizations());
            memory.download(back, b, 8);
            assertEquals(1, memory.hostSynchronizations(), "a download waits once");
            assertEquals(1, back.get(0));
            assertEquals(2, back.get(1));
            assertEquals(0, a.get(0));
            assertEquals(0, stream.queued());
        }
    }

    @Test
    void queuedWorkRunsBeforeMemoryIsFreed() {
        HostStream stream = new HostStream();
        try (DeviceMemory memory = new DeviceMemory(stream, RING);
             FloatPointer host = new FloatPointer(1)) {
            FloatPointer device = new FloatPointer(1);
            host.put(0, 5);
            memory.upload(device, host, 4);
            memory.beforeFree();
            assertEquals(0, stream.queued());
            assertEquals(5, device.get(0));
            device.close();
            assertEquals(0, memory.hostSynchronizations(), "running the queue before a free is no host wait");
        }
    }

    @Test
    void moreCopiesInFlightThanFencesWait() {
        HostStream stream = new HostStream();
        try (DeviceMemory memory = new DeviceMemory(stream, DeviceMemory.STAGING_BYTES);
             FloatPointer host = new FloatPointer(1);
             FloatPointer device = new FloatPointer(DeviceMemory.FENCES + 10)) {
            for (int i = 0; i < DeviceMemory.FENCES + 10; i++) {
                host.put(0, i);
                memory.upload(device.getPointer(i), host, 4);
            }
            assertTrue(memory.stalls() > 0, "the fences ran out before the ring did");
            memory.synchronize();
            for (int i = 0; i < DeviceMemory.FENCES + 10; i++) {
                assertEquals(i, device.get(i));
            }
        }
    }

    @Test
    void addressesCountThePointersPosition() {
        HostStream stream = new HostStream();
        try (DeviceMemory memory = new DeviceMemory(stream, RING);
             FloatPointer host = new FloatPointer(4);
             FloatPointer device = new FloatPointer(4)) {
            host.put(0, 1).put(1, 2).put(2, 3).put(3, 4);
            device.put(0, 0).put(1, 0).put(2, 0).put(3, 0);
            Pointer third = new FloatPointer(host).position(2);
            memory.upload(new FloatPointer(device).position(1), third, 8);
            memory.synchronize();
            assertEquals(0, device.get(0));
            assertEquals(3, device.get(1));
            assertEquals(4, device.get(2));
        }
    }
}
