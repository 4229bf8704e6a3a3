// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.random.TorchGenerator;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import io.sdxl4j.tensor.HostTensorOps;
import io.sdxl4j.tensor.Tensor;
import io.sdxl4j.tensor.TensorOps;
import java.lang.management.ManagementFactory;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every device operation against the host one it replaces (Jlama's pattern: each backend checked
 * against the one scalar reference): same inputs, same float32 results, because each kernel graph
 * does the host code's operations in the host code's order.
 */
class OrtTensorOpsTest {

    private static final long[] SHAPE = {2, 4, 5, 6};
    private static JavaCppEngine engine;
    private static OrtTensorOps device;
    private static final HostTensorOps HOST = HostTensorOps.INSTANCE;

    @BeforeAll
    static void open() {
        engine = new JavaCppEngine("javacpp-resident", PipelineOptions.defaults(), true);
        device = (OrtTensorOps) engine.ops();
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    /** An operation applied to three operands (x, y, z) and a destination, on either backend. */
    interface Op {
        void apply(TensorOps ops, Tensor dst, Tensor x, Tensor y, Tensor z, Tensor mask);
    }

    static Stream<Arguments> operations() {
        return Stream.of(
                Arguments.of("scale", (Op) (o, d, x, y, z, m) -> o.scale(d, 0.7f, x)),
                Arguments.of("scale in place", (Op) (o, d, x, y, z, m) -> {
                    o.copy(d, x);
                    o.scale(d, -1.3f, d);
                }),
                Arguments.of("axpby", (Op) (o, d, x, y, z, m) -> o.axpby(d, 0.3f, x, -1.7f, y)),
                Arguments.of("axpby into x", (Op) (o, d, x, y, z, m) -> {
                    o.copy(d, x);
                    o.axpby(d, 0.9f, d, 0.1f, y);
                }),
                Arguments.of("axpbypcz", (Op) (o, d, x, y, z, m) -> o.axpbypcz(d, 0.3f, x, 0.5f, y, -2f, z)),
                Arguments.of("linear combination of 5", (Op) (o, d, x, y, z, m) -> {
                    Tensor[] terms = {x, y, z, x, y};
                    o.linearCombination(d, new float[] {0.1f, 0.2f, 0.3f, -0.4f, 0.5f}, terms, 5);
                }),
                Arguments.of("masked blend", (Op) (o, d, x, y, z, m) -> {
                    o.copy(d, x);
                    o.maskedBlend(d, y, m);
                }),
                Arguments.of("clamp", (Op) (o, d, x, y, z, m) -> o.clamp(d, x, -0.5f, 0.25f)),
                Arguments.of("into all channels", (Op) (o, d, x, y, z, m) -> o.scaleIntoChannels(d, 0, 2f, x)),
                Arguments.of("slice rows", (Op) (o, d, x, y, z, m) -> {
                    o.scale(o.slice(d, 1, 2), 3f, o.slice(x, 0, 1));
                    o.scale(o.slice(d, 0, 1), -1f, o.slice(y, 1, 2));
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operations")
    void deviceOperationsGiveTheHostResultsBitForBit(String name, Op op) {
        float[] expected = runOn(HOST, op);
        float[] actual = runOn(device, op);
        assertArrayEquals(expected, actual, name);
    }

    private static float[] runOn(TensorOps ops, Op op) {
        try (HostTensor hx = random(1, SHAPE); HostTensor hy = random(2, SHAPE); HostTensor hz = random(3, SHAPE);
             HostTensor hm = random(4, 2, 1, 5, 6); HostTensor out = HostTensor.floats(SHAPE)) {
            for (int i = 0; i < hm.size(); i++) {
                hm.floatBuffer().put(i, hm.floatBuffer().get(i) > 0 ? 1f : 0.25f);
            }
            Tensor x = ops.onEngine(hx);
            Tensor y = ops.onEngine(hy);
            Tensor z = ops.onEngine(hz);
            Tensor m = ops.onEngine(hm);
            Tensor d = ops.allocate(SHAPE);
            try {
                op.apply(ops, d, x, y, z, m);
                ops.download(out, d);
                return out.toFloatArray();
            } finally {
                for (Tensor t : new Tensor[] {x, y, z, m, d}) {
                    t.close();
                }
            }
        }
    }

    private static HostTensor random(long seed, long... shape) {
        HostTensor t = HostTensor.floats(shape);
        new TorchGenerator(seed).randn(t.floatBuffer(), t.size());
        return t;
    }

    @Test
    void scaleIntoChannelsWritesTheChannelRangeOfEveryItem() {
        BiConsumer<TensorOps, HostTensor> run = (ops, out) -> {
            try (HostTensor src = random(5, 2, 4, 3, 3); HostTensor mask = random(6, 2, 1, 3, 3)) {
                Tensor d = ops.allocate(2, 9, 3, 3);
                Tensor s = ops.onEngine(src);
                Tensor m = ops.onEngine(mask);
                ops.scaleIntoChannels(d, 0, 0.5f, s);
                ops.scaleIntoChannels(d, 4, 1f, m);
                ops.scaleIntoChannels(d, 5, -1f, s);
                ops.download(out, d);
                d.close();
                s.close();
                m.close();
            }
        };
        try (HostTensor a = HostTensor.floats(2, 9, 3, 3); HostTensor b = HostTensor.floats(2, 9, 3, 3)) {
            run.accept(HOST, a);
            run.accept(device, b);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
        }
    }

    @Test
    void stdPerItemMatchesTheHostInDoublePrecision() {
        try (HostTensor h = random(7, SHAPE); Tensor d = device.onEngine(h)) {
            double[] expected = new double[2];
            double[] actual = new double[2];
            HOST.stdPerItem(h, expected);
            device.stdPerItem(d, actual);
            assertArrayEquals(expected, actual, 1e-12);
        }
    }

    @Test
    void randnDrawsTheGeneratorsNumbersIntoDeviceMemory() {
        try (HostTensor h = HostTensor.floats(SHAPE); HostTensor back = HostTensor.floats(SHAPE);
             Tensor d = device.allocate(SHAPE)) {
            HOST.randn(h, new TorchGenerator(42));
            device.randn(d, new TorchGenerator(42));
            device.download(back, d);
            assertArrayEquals(h.toFloatArray(), back.toFloatArray());
        }
    }

    @Test
    void float16CastsRoundTripThroughTheDevice() {
        try (HostTensor h = random(8, SHAPE); HostTensor back = HostTensor.floats(SHAPE);
             OrtTensor x = (OrtTensor) device.onEngine(h); OrtTensor half = device.allocate(DataType.FLOAT16, SHAPE);
             OrtTensor y = device.allocate(SHAPE)) {
            device.cast(half, x);
            device.cast(y, half);
            device.download(back, y);
            for (int i = 0; i < h.size(); i++) {
                float v = h.floatBuffer().get(i);
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v)), back.floatBuffer().get(i), "element " + i);
            }
        }
    }

    @Test
    void allocationsAreZeroedAndViewsAreMadeOnce() {
        try (HostTensor back = HostTensor.floats(SHAPE); Tensor d = device.allocate(SHAPE)) {
            device.download(back, d);
            for (float v : back.toFloatArray()) {
                assertEquals(0f, v);
            }
            assertSame(device.slice(d, 0, 1), device.slice(d, 0, 1));
        }
    }

    @Test
    void badOperandsThrowAndHostTensorsAreRefused() {
        try (Tensor a = device.allocate(2, 3); Tensor b = device.allocate(3, 3); HostTensor h = HostTensor.floats(2, 3)) {
            assertThrows(IllegalArgumentException.class, () -> device.axpby(a, 1, a, 1, b));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> device.scale(a, 1, h));
            assertTrue(e.getMessage().contains("not a tensor of the javacpp engine"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> device.upload(b, h));
        }
    }

    @Test
    void closingAnOperandReleasesTheBindingsThatReadIt() {
        try (OrtTensor d = device.allocate(2, 3); OrtTensor y = device.allocate(2, 3)) {
            OrtTensor x = device.allocate(2, 3);
            device.axpby(d, 1f, x, 2f, y);
            device.axpby(d, 1f, y, 2f, y);
            assertEquals(2, d.writers.size());
            x.close();
            assertEquals(1, d.writers.size(), "the binding that read x is gone with it");
            assertEquals(1, y.readers.size());
        }
    }

    @Test
    void useAfterCloseThrowsAndCloseTwiceIsHarmless() {
        try (Tensor d = device.allocate(2, 3)) {
            Tensor t = device.allocate(2, 3);
            device.scale(d, 2f, t);
            t.close();
            t.close();
            // The binding of scale(d, t) is gone with t, and a closed operand throws before any kernel runs.
            assertThrows(IllegalStateException.class, () -> device.scale(d, 2f, t));
            assertThrows(IllegalStateException.class, () -> device.scale(t, 2f, d));
            assertThrows(IllegalStateException.class, () -> device.copy(d, t));
        }
    }

    @Test
    void closingTheEngineFreesTheTensorsLeftOpenAndRefusesThemAfter() {
        JavaCppEngine other = new JavaCppEngine("javacpp-resident", PipelineOptions.defaults(), true);
        TensorOps ops = other.ops();
        OrtTensor leftOpen = (OrtTensor) ops.allocate(2, 3);
        ops.scale(leftOpen, 2f, leftOpen);
        other.close();
        other.close();
        assertTrue(leftOpen.isClosed(), "the engine closed the tensor its owner forgot");
        leftOpen.close();
        assertThrows(IllegalStateException.class, () -> ops.allocate(2, 3));
        assertThrows(IllegalStateException.class, () -> ops.scale(leftOpen, 1f, leftOpen));
    }

    @Test
    void aRepeatedOperationAllocatesNoJavaMemory() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Tensor x = device.allocate(SHAPE); Tensor y = device.allocate(SHAPE); Tensor d = device.allocate(SHAPE)) {
            for (int i = 0; i < 1000; i++) {
                device.axpby(d, 0.5f, x, 0.25f, y);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 1000; i++) {
                device.axpby(d, 0.5f, x, 0.25f, y);
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated < 1000, "1000 calls allocated " + allocated + " bytes");
        }
    }
}
