// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import io.sdxl4j.onnx.Onnx;

/** Where a graph's weight values go: an external-data file, or nowhere (counting only). */
interface WeightSink extends AutoCloseable {

    /** The i-th value of a tensor. */
    @FunctionalInterface
    interface Values {
        float at(long i);
    }

    /** Stores {@code count} values of tensor {@code t} (already named and shaped). */
    void write(Onnx.TensorProto.Builder t, long count, int dtype, Values values);

    @Override
    void close();

    /** Discards the values: for counting parameters and FLOPs without writing a model. */
    static WeightSink none() {
        return new WeightSink() {
            @Override
            public void write(Onnx.TensorProto.Builder t, long count, int dtype, Values values) {
                // Counting only.
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * Appends every tensor to one external-data file ({@code model.onnx_data}, as optimum writes
     * large models), each at an offset aligned to 4096 bytes so that ONNX Runtime can map it.
     */
    static WeightSink external(Path file) {
        return new External(file);
    }

    /** The external-data writer. */
    final class External implements WeightSink {
        private static final int ALIGN = 4096;
        private final FileChannel channel;
        private final String location;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long offset;

        External(Path file) {
            try {
                this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            this.location = file.getFileName().toString();
        }

        @Override
        public void write(Onnx.TensorProto.Builder t, long count, int dtype, Values values) {
            int width = dtype == GraphBuilder.FLOAT ? 4 : 2;
            long start = (offset + ALIGN - 1) / ALIGN * ALIGN;
            try {
                pad(start - offset);
                for (long i = 0; i < count; i++) {
                    if (buffer.remaining() < 4) {
                        flush();
                    }
                    float v = values.at(i);
                    if (width == 4) {
                        buffer.putFloat(v);
                    } else {
                        buffer.putShort(Float.floatToFloat16(v));
                    }
                }
                flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            long length = count * width;
            offset = start + length;
            t.setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", location))
                    .addExternalData(entry("offset", Long.toString(start)))
                    .addExternalData(entry("length", Long.toString(length)));
        }

        private void pad(long bytes) throws IOException {
            for (long i = 0; i < bytes; i++) {
                if (!buffer.hasRemaining()) {
                    flush();
                }
                buffer.put((byte) 0);
            }
        }

        private void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
        }

        private static Onnx.StringStringEntryProto entry(String key, String value) {
            return Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
        }

        /** Bytes written. */
        long size() {
            return offset;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
