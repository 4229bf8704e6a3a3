// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.SdxlException;
import io.sdxl4j.adapter.TestFiles.T;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void readsFloat32Float16AndBfloat16AsFloat32WithTheirShapesAndMetadata() {
        float[] values = {1.5f, -2.25f, 0.125f, 3f, -0.5f, 256f};
        Path file = TestFiles.safetensors(dir.resolve("a.safetensors"), TestFiles.map(
                "f32", T.f32(values, 2, 3), "f16", T.f16(values, 3, 2), "bf16", T.bf16(values, 6),
                "alpha", T.scalar(4f)), Map.of("ss_network_module", "networks.lora"));
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(List.of("f32", "f16", "bf16", "alpha"), List.copyOf(st.keys()));
            assertArrayEquals(values, st.floats("f32"));
            assertArrayEquals(values, st.floats("f16")); // each value is exact in half precision
            assertArrayEquals(values, st.floats("bf16")); // and in bfloat16
            assertArrayEquals(new long[] {3, 2}, st.entry("f16").shape());
            assertEquals(4f, st.scalar("alpha"));
            assertEquals("networks.lora", st.metadata().get("ss_network_module"));
        }
    }

    @Test
    void bfloat16KeepsTheUpperHalfOfTheFloat() {
        float v = 1.00390625f + 1e-4f; // not exact in bfloat16
        Path file = TestFiles.safetensors(dir.resolve("b.safetensors"), TestFiles.map("x", T.bf16(new float[] {v}, 1)));
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(Float.intBitsToFloat(Float.floatToIntBits(v) & 0xFFFF0000), st.floats("x")[0]);
        }
    }

    @Test
    void aFileShorterThanTheHeaderLengthFailsNamingTheFile() {
        Path file = TestFiles.write(dir.resolve("short.safetensors"), new byte[] {1, 2, 3});
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void aHeaderLengthBeyondTheFileFailsAsTruncated() throws IOException {
        Path good = TestFiles.safetensors(dir.resolve("good.safetensors"),
                TestFiles.map("lora_unet_x.lora_down.weight", T.f32(new float[8], 2, 4)));
        byte[] bytes = Files.readAllBytes(good);
        Path cut = TestFiles.write(dir.resolve("cut.safetensors"), Arrays.copyOf(bytes, 20));
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(cut));
        assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("reaches beyond the file"), e.getMessage());
    }

    @Test
    void anAbsurdHeaderLengthFailsWithoutAllocatingIt() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE - 3);
        Path file = TestFiles.write(dir.resolve("huge.safetensors"), b.array());
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    }

    @Test
    void dataCutShortFailsNamingTheKeyWhoseOffsetsLieOutside() throws IOException {
        Path good = TestFiles.safetensors(dir.resolve("good.safetensors"), TestFiles.map(
                "first", T.f32(new float[4], 4), "lora_unet_x.lora_up.weight", T.f32(new float[16], 4, 4)));
        byte[] bytes = Files.readAllBytes(good);
        Path cut = TestFiles.write(dir.resolve("cut.safetensors"), Arrays.copyOf(bytes, bytes.length - 10));
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(cut));
        assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("key lora_unet_x.lora_up.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("outside the data"), e.getMessage());
    }

    @Test
    void offsetsThatDisagreeWithDtypeAndShapeFailNamingTheKey() {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}";
        Path file = raw(dir.resolve("bad.safetensors"), header, 16);
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().contains("key w: 16 bytes for F32[2,3], which needs 24"), e.getMessage());
    }

    @Test
    void aHeaderThatIsNotJsonFailsNamingTheFile() {
        Path file = raw(dir.resolve("junk.safetensors"), "{\"w\": [1, 2", 0);
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(file));
        assertTrue(e.getMessage().startsWith(file + ": the header is not valid JSON"), e.getMessage());
    }

    @Test
    void anIntegerTensorIsAnErrorNamingTheKeyAndDtypeWhenRead() {
        Path file = TestFiles.safetensors(dir.resolve("i64.safetensors"), TestFiles.map(
                "lora_unet_x.lora_down.weight", new T("I64", new long[] {2}, null, new byte[16])));
        try (SafeTensors st = SafeTensors.open(file)) {
            SdxlException e = assertThrows(SdxlException.class, () -> st.floats("lora_unet_x.lora_down.weight"));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("key lora_unet_x.lora_down.weight is I64"), e.getMessage());
        }
    }

    @Test
    void aMissingFileIsNamed() {
        Path file = dir.resolve("absent.safetensors");
        SdxlException e = assertThrows(SdxlException.class, () -> SafeTensors.open(file));
        assertEquals(file + ": file not found", e.getMessage());
    }

    private static Path raw(Path file, String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        return TestFiles.write(file, b.array());
    }
}
