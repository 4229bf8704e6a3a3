// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.SdxlException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@code .safetensors} file, read as the format defines it: an 8-byte little-endian header
 * length N, N bytes of JSON (an object of tensor name to {@code dtype}, {@code shape} and
 * {@code data_offsets} [begin, end) relative to the data section, plus an optional
 * {@code __metadata__} object of strings), then the raw little-endian tensor data. Everything in
 * the header is checked against the file before any tensor is read: a truncated or corrupt file
 * fails here, naming the file (and the key), never later with an index or memory error. Tensors
 * are read through memory maps of their own byte range; F32, F16 and BF16 convert to float32.
 */
final class SafeTensors implements AutoCloseable {

    /** The safetensors library's own bound on the header (100 MB). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String METADATA = "__metadata__";

    /** One tensor of the header: byte range relative to the data section. */
    record Entry(String key, String dtype, long[] shape, long begin, long end) {
        long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        int rank() {
            return shape.length;
        }

        long dim(int axis) {
            return shape[axis];
        }

        String describe() {
            return dtype + Arrays.toString(shape);
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private boolean closed;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries,
                        Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Opens and validates {@code file}.
     *
     * @throws SdxlException naming the file (and the key, where one is at fault) when the file is
     *                       missing, truncated or its header is inconsistent
     */
    static SafeTensors open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SdxlException(file + ": file not found");
        } catch (IOException e) {
            throw new SdxlException(file + ": cannot open: " + e.getMessage(), e);
        }
        try {
            long size = channel.size();
            if (size < 8) {
                throw error(file, "truncated: " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
                throw error(file, "header length " + Long.toUnsignedString(headerLength)
                        + " is outside [2, " + MAX_HEADER_BYTES + "]: not a safetensors file or corrupt");
            }
            if (headerLength > size - 8) {
                throw error(file, "truncated: the header length " + headerLength + " reaches beyond the file ("
                        + size + " bytes)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            readFully(channel, header, 8);
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;
            JsonNode root;
            try {
                root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw error(file, "the header is not valid JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw error(file, "the header is not a JSON object");
            }
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = Map.of();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (field.getKey().equals(METADATA)) {
                    metadata = metadata(file, field.getValue());
                } else {
                    entries.put(field.getKey(), entry(file, field.getKey(), field.getValue(), dataLength));
                }
            }
            return new SafeTensors(file, channel, dataStart, Collections.unmodifiableMap(entries), metadata);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new SdxlException(file + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static Map<String, String> metadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw error(file, "__metadata__ is not an object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            // The format says strings; a writer that put numbers there is tolerated as their text.
            out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
        }
        return Collections.unmodifiableMap(out);
    }

    private static Entry entry(Path file, String key, JsonNode node, long dataLength) {
        if (!node.isObject()) {
            throw error(file, "key " + key + ": not a tensor description");
        }
        JsonNode dtypeNode = node.get("dtype");
        JsonNode shapeNode = node.get("shape");
        JsonNode offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw error(file, "key " + key + ": no dtype");
        }
        if (shapeNode == null || !shapeNode.isArray()) {
            throw error(file, "key " + key + ": no shape");
        }
        if (offsetsNode == null || !offsetsNode.isArray() || offsetsNode.size() != 2
                || !offsetsNode.get(0).canConvertToLong() || !offsetsNode.get(1).canConvertToLong()) {
            throw error(file, "key " + key + ": data_offsets is not [begin, end]");
        }
        String dtype = dtypeNode.asText();
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw error(file, "key " + key + ": shape " + shapeNode + " is not a list of sizes");
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException e) {
                throw error(file, "key " + key + ": shape " + shapeNode + " overflows");
            }
        }
        long begin = offsetsNode.get(0).asLong();
        long end = offsetsNode.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLength) {
            throw error(file, "key " + key + ": data_offsets [" + begin + ", " + end + ") lie outside the data ("
                    + dataLength + " bytes): the file is truncated or corrupt");
        }
        int width = elementBytes(dtype);
        if (width > 0) {
            long expected;
            try {
                expected = Math.multiplyExact(elements, (long) width);
            } catch (ArithmeticException e) {
                throw error(file, "key " + key + ": shape " + shapeNode + " overflows");
            }
            if (end - begin != expected) {
                throw error(file, "key " + key + ": " + (end - begin) + " bytes for " + dtype + shapeNode
                        + ", which needs " + expected);
            }
        }
        return new Entry(key, dtype, shape, begin, end);
    }

    /** The element width of a safetensors dtype, or 0 for one this reader does not know. */
    static int elementBytes(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> 0;
        };
    }

    Path file() {
        return file;
    }

    /** The {@code __metadata__} strings; empty when the header has none. */
    Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor names, in the header's order. */
    Set<String> keys() {
        return entries.keySet();
    }

    boolean contains(String key) {
        return entries.containsKey(key);
    }

    /** The description of {@code key}; fails naming file and key when there is none. */
    Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            throw new SdxlException(file + ": no tensor " + key);
        }
        return e;
    }

    /**
     * The tensor {@code key} as float32, in its stored (row-major) order.
     *
     * @throws SdxlException naming file, key and dtype for a dtype other than F32, F16, BF16
     */
    float[] floats(String key) {
        Entry e = entry(key);
        if (!e.dtype().equals("F32") && !e.dtype().equals("F16") && !e.dtype().equals("BF16")) {
            throw new SdxlException(file + ": key " + key + " is " + e.dtype()
                    + "; adapter tensors must be F32, F16 or BF16");
        }
        long count = e.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new SdxlException(file + ": key " + key + " has " + count + " elements, more than one array holds");
        }
        float[] out = new float[(int) count];
        if (count == 0) {
            return out;
        }
        ByteBuffer bytes = map(e).order(ByteOrder.LITTLE_ENDIAN);
        switch (e.dtype()) {
            case "F32" -> bytes.asFloatBuffer().get(out);
            case "F16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.float16ToFloat(bytes.getShort(2 * i));
                }
            }
            default -> {
                // bfloat16 is the upper half of a float32.
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xFFFF) << 16);
                }
            }
        }
        return out;
    }

    /** A 0-d (or one-element) tensor's value, e.g. kohya's {@code .alpha}. */
    float scalar(String key) {
        Entry e = entry(key);
        if (e.elementCount() != 1) {
            throw new SdxlException(file + ": key " + key + " is " + e.describe() + ", expected a scalar");
        }
        return floats(key)[0];
    }

    private ByteBuffer map(Entry e) {
        if (closed) {
            throw new IllegalStateException(file + ": closed");
        }
        try {
            MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin());
            return m;
        } catch (IOException ex) {
            throw new SdxlException(file + ": key " + e.key() + ": cannot map its data: " + ex.getMessage(), ex);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
        long at = position;
        while (into.hasRemaining()) {
            int n = channel.read(into, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + at);
            }
            at += n;
        }
    }

    private static SdxlException error(Path file, String message) {
        return new SdxlException(file + ": " + message);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // The open failed already; that error is the one to report.
        }
    }

    /** Closes the file; mapped ranges already handed out stay valid until collected. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            closeQuietly(channel);
        }
    }
}
