// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files (format 1.0/2.0, C order, little-endian {@code <f4},
 * {@code <i8}), the format of diffusers' reference tensors.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** A float32 array read from a file. */
    public record FloatArray(long[] shape, float[] data) {
    }

    /** Reads a {@code <f4} array (an {@code <f8} one is narrowed to float). */
    public static FloatArray readFloats(Path file) throws IOException {
        Parsed p = parse(file);
        float[] out = new float[(int) Shapes.elementCount(p.shape)];
        switch (p.descr) {
            case "<f4" -> p.data.asFloatBuffer().get(out);
            case "<f8" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) p.data.getDouble(i * 8);
                }
            }
            default -> throw new IOException(file + ": dtype " + p.descr + " is not a float array");
        }
        return new FloatArray(p.shape, out);
    }

    /** Reads a {@code <i8} array. */
    public static long[] readLongs(Path file) throws IOException {
        Parsed p = parse(file);
        if (!p.descr.equals("<i8")) {
            throw new IOException(file + ": dtype " + p.descr + " is not int64");
        }
        long[] out = new long[(int) Shapes.elementCount(p.shape)];
        p.data.asLongBuffer().get(out);
        return out;
    }

    /** Writes a float32 array. */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        if (shape.length > 1) {
            dims.setLength(dims.length() - 2);
        } else if (shape.length == 1) {
            dims.setLength(dims.length() - 1);
        }
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
        int unpadded = MAGIC.length + 2 + 2 + header.length() + 1;
        header = header + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + h.length + data.length * 4)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length).put(h);
        out.asFloatBuffer().put(data);
        Files.write(file, out.array());
    }

    private record Parsed(String descr, long[] shape, ByteBuffer data) {
    }

    private static Parsed parse(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (b.remaining() == 0 || b.get() != m) {
                throw new IOException(file + ": not a .npy file");
            }
        }
        int major = b.get();
        b.get();
        int headerLength = major == 1 ? Short.toUnsignedInt(b.getShort()) : b.getInt();
        if (headerLength > b.remaining()) {
            throw new IOException(file + ": truncated .npy header");
        }
        String header = new String(all, b.position(), headerLength, StandardCharsets.US_ASCII);
        b.position(b.position() + headerLength);
        Matcher descr = DESCR.matcher(header);
        Matcher order = ORDER.matcher(header);
        Matcher shape = SHAPE.matcher(header);
        if (!descr.find() || !order.find() || !shape.find()) {
            throw new IOException(file + ": unreadable .npy header " + header.strip());
        }
        if (order.group(1).equals("True")) {
            throw new IOException(file + ": Fortran-ordered arrays are not supported");
        }
        String[] parts = shape.group(1).split(",");
        long[] dims = java.util.Arrays.stream(parts).map(String::strip).filter(s -> !s.isEmpty())
                .mapToLong(Long::parseLong).toArray();
        ByteBuffer data = b.slice().order(ByteOrder.LITTLE_ENDIAN);
        int width = switch (descr.group(1)) {
            case "<f4" -> 4;
            case "<f8", "<i8" -> 8;
            default -> throw new IOException(file + ": unsupported dtype " + descr.group(1));
        };
        if (data.remaining() < Shapes.elementCount(dims) * width) {
            throw new IOException(file + ": truncated .npy data");
        }
        return new Parsed(descr.group(1), dims, data);
    }
}
