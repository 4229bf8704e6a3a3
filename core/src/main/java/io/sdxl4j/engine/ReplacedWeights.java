// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

import io.sdxl4j.SdxlException;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.DataType;
import io.sdxl4j.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * How replacement initializers reach a session so that every graph optimization sees them. ONNX
 * Runtime applies {@code AddInitializer}'s values after it has optimized the graph, so a
 * transformation that copied an original weight — the CPU's blocked convolution layouts (level
 * ALL), constant folding of a transposed weight — keeps the original, and the adapter is silently
 * lost there (measured: a LoCon file's convolutions had no effect at level ALL). External
 * initializers, by contrast, are read while the graph loads, before any optimization. So each
 * replaced initializer is turned into an external one in a graph held in memory (its shape and
 * type those of its replacement, its bytes pointing nowhere) and its replacement handed to the
 * session as that external initializer's data ({@code AddExternalInitializers}); every other
 * weight stays where the export keeps it.
 */
public final class ReplacedWeights {

    /** The placeholder file the replaced initializers name: never read, since the session gets their data. */
    static final String PLACEHOLDER = "sdxl4j-replaced-initializers.bin";

    private ReplacedWeights() {
    }

    /**
     * The source's graph with its replaced initializers made external, for a session loaded from
     * memory with the replacements as external initializers.
     *
     * @throws SdxlException naming {@code label} when a replacement names no initializer of the graph
     */
    public static byte[] graph(ModelSource source, String label) {
        Onnx.ModelProto model = read(source, label);
        Map<String, HostTensor> replaced = source.initializers();
        Onnx.GraphProto.Builder graph = model.getGraph().toBuilder();
        Set<String> found = new HashSet<>();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            Onnx.TensorProto t = graph.getInitializer(i);
            HostTensor r = replaced.get(t.getName());
            if (r == null) {
                continue;
            }
            found.add(t.getName());
            Onnx.TensorProto.Builder b = Onnx.TensorProto.newBuilder().setName(t.getName())
                    .setDataType(onnxType(r.dataType())).setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL);
            for (long d : r.shape()) {
                b.addDims(d);
            }
            b.addExternalData(entry("location", PLACEHOLDER)).addExternalData(entry("offset", "0"))
                    .addExternalData(entry("length", Long.toString(r.byteBuffer().remaining())));
            graph.setInitializer(i, b);
        }
        if (found.size() != replaced.size()) {
            Set<String> missing = new HashSet<>(replaced.keySet());
            missing.removeAll(found);
            throw new SdxlException(label + ": no initializer named " + missing + " to replace");
        }
        return model.toBuilder().setGraph(graph).build().toByteArray();
    }

    /** The graph {@code source} opens: its rewritten graph when it has one, else its file's. */
    public static Onnx.ModelProto read(ModelSource source, String label) {
        try {
            byte[] bytes = source.graph().isPresent() ? source.graph().get() : Files.readAllBytes(source.file());
            var coded = com.google.protobuf.CodedInputStream.newInstance(bytes);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return Onnx.ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new SdxlException(label + ": cannot load the ONNX model: its graph does not parse (" + e.getMessage()
                    + ")", e);
        }
    }

    private static Onnx.StringStringEntryProto entry(String key, String value) {
        return Onnx.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static int onnxType(DataType type) {
        return switch (type) {
            case FLOAT32 -> Onnx.TensorProto.DataType.FLOAT_VALUE;
            case FLOAT16 -> Onnx.TensorProto.DataType.FLOAT16_VALUE;
            case INT64 -> Onnx.TensorProto.DataType.INT64_VALUE;
            case INT32 -> Onnx.TensorProto.DataType.INT32_VALUE;
        };
    }
}
