// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A zeroed block of off-heap memory with one owner, released by {@link #close()}.
 *
 * <p>On JDK 22 and newer the block comes from a shared {@code java.lang.foreign.Arena} (final API
 * since JDK 22) and {@code close()} frees it at once, so freeing never waits for the garbage
 * collector; the arena is reached through method handles because the library targets release 21,
 * where that API is still a preview. On JDK 21 the block is a plain direct buffer whose memory the
 * JDK reclaims once the buffer is unreachable. Either way the buffer is in native byte order, as
 * ONNX Runtime expects for zero-copy tensors.
 */
final class NativeMemory implements AutoCloseable {

    private static final int ALIGNMENT = 64;
    private static final Arenas ARENAS = Arenas.find();

    private final Object arena;
    private final ByteBuffer buffer;
    private boolean closed;

    private NativeMemory(Object arena, ByteBuffer buffer) {
        this.arena = arena;
        this.buffer = buffer.order(ByteOrder.nativeOrder());
    }

    /**
     * Allocates {@code bytes} zeroed bytes.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative or above {@link Integer#MAX_VALUE}
     */
    public static NativeMemory allocate(long bytes) {
        if (bytes < 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bytes: " + bytes + " is outside [0, " + Integer.MAX_VALUE + "]");
        }
        if (ARENAS == null) {
            return new NativeMemory(null, ByteBuffer.allocateDirect((int) bytes));
        }
        Object arena = ARENAS.open();
        try {
            return new NativeMemory(arena, ARENAS.allocate(arena, Math.max(bytes, 1), (int) bytes));
        } catch (RuntimeException | Error e) {
            ARENAS.close(arena);
            throw e;
        }
    }

    /** True when {@link #close()} frees the memory immediately (JDK 22+). */
    public static boolean freesDeterministically() {
        return ARENAS != null;
    }

    /** The memory as a native-order buffer. */
    public ByteBuffer buffer() {
        if (closed) {
            throw new IllegalStateException("native memory already closed");
        }
        return buffer;
    }

    /** Size in bytes. */
    public int size() {
        return buffer.capacity();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Frees the memory; further calls do nothing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (arena != null) {
            ARENAS.close(arena);
        }
    }

    /** Method handles onto {@code java.lang.foreign.Arena}, or null before JDK 22. */
    private record Arenas(MethodHandle ofShared, MethodHandle allocate, MethodHandle asByteBuffer,
                          MethodHandle close) {

        static Arenas find() {
            if (Runtime.version().feature() < 22) {
                return null;
            }
            try {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                Class<?> arenaType = Class.forName("java.lang.foreign.Arena");
                Class<?> segmentType = Class.forName("java.lang.foreign.MemorySegment");
                return new Arenas(
                        lookup.findStatic(arenaType, "ofShared", MethodType.methodType(arenaType)),
                        lookup.findVirtual(arenaType, "allocate",
                                MethodType.methodType(segmentType, long.class, long.class)),
                        lookup.findVirtual(segmentType, "asByteBuffer", MethodType.methodType(ByteBuffer.class)),
                        lookup.findVirtual(arenaType, "close", MethodType.methodType(void.class)));
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        Object open() {
            try {
                return ofShared.invoke();
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        ByteBuffer allocate(Object arena, long bytes, int limit) {
            try {
                ByteBuffer buffer = (ByteBuffer) asByteBuffer.invoke(allocate.invoke(arena, bytes, (long) ALIGNMENT));
                return buffer.limit(limit).slice();
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        void close(Object arena) {
            try {
                close.invoke(arena);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        private static RuntimeException rethrow(Throwable t) {
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            return new IllegalStateException(t);
        }
    }
}
