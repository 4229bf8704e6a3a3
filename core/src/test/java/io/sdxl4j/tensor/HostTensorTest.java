// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class HostTensorTest {

    @Test
    void allocatesZeroedNativeOrderMemory() {
        try (HostTensor t = HostTensor.floats(2, 3)) {
            assertEquals(6, t.size());
            assertEquals(ByteOrder.nativeOrder(), t.byteBuffer().order());
            assertTrue(t.floatBuffer().isDirect());
            assertArrayEquals(new float[6], t.toFloatArray());
        }
    }

    @Test
    void closeTwiceIsHarmlessAndUseAfterCloseThrows() {
        HostTensor t = HostTensor.floats(4);
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, t::floatBuffer);
    }

    @Test
    void slicesShareMemoryAndDieWithTheirParent() {
        HostTensor t = HostTensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        HostTensor middle = t.slice(1, 2);
        assertArrayEquals(new long[] {1, 2}, middle.shape());
        assertArrayEquals(new float[] {3, 4}, middle.toFloatArray());
        middle.floatBuffer().put(0, 30f);
        assertEquals(30f, t.floatBuffer().get(2));
        middle.close();
        assertEquals(30f, t.floatBuffer().get(2), "closing a view leaves the parent alone");
        t.close();
        assertThrows(IllegalStateException.class, middle::floatBuffer);
    }

    @Test
    void rejectsSlicesOutsideTheTensor() {
        try (HostTensor t = HostTensor.floats(2, 2)) {
            assertThrows(IllegalArgumentException.class, () -> t.slice(1, 3));
        }
    }

    @Test
    void refusesTheWrongElementView() {
        try (HostTensor t = HostTensor.allocate(DataType.INT64, 3)) {
            assertThrows(IllegalStateException.class, t::floatBuffer);
            t.longBuffer().put(2, 7L);
            assertEquals(7L, t.longBuffer().get(2));
        }
    }

    @Test
    void freesWithoutTheGarbageCollectorOnJdk22AndNewer() {
        assertEquals(Runtime.version().feature() >= 22, NativeMemory.freesDeterministically());
    }
}
