// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    @Test
    void readsNumpysFloatArrays() throws IOException {
        Npy.FloatArray a = Npy.readFloats(TestData.conformance().resolve("cases/txt2img_euler_cfg5/timesteps.npy"));
        assertArrayEquals(new long[] {8}, a.shape());
        assertArrayEquals(new float[] {876, 751, 626, 501, 376, 251, 126, 1}, a.data());
    }

    @Test
    void writesWhatItReads(@TempDir Path dir) throws IOException {
        float[] data = {1.5f, -2f, 3.25f, 0f, 7f, 8f};
        Path f = dir.resolve("a.npy");
        Npy.write(f, new long[] {2, 3}, data);
        Npy.FloatArray back = Npy.readFloats(f);
        assertArrayEquals(new long[] {2, 3}, back.shape());
        assertArrayEquals(data, back.data());
        assertTrue(Files.size(f) % 16 == (128 + 24) % 16, "header padded to a 64-byte boundary");
    }

    @Test
    void rejectsTruncatedFiles(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("a.npy");
        Npy.write(f, new long[] {100}, new float[100]);
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 8));
        assertThrows(IOException.class, () -> Npy.readFloats(f));
    }
}
