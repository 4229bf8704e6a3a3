// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import io.sdxl4j.SdxlException;
import io.sdxl4j.onnx.Onnx;
import io.sdxl4j.tensor.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The weights of an ONNX export as adapters see them: every {@code MatMul}, {@code Gemm} and
 * {@code Conv} whose weight is an initializer, under the module path its node name carries.
 *
 * <p>The TorchScript exporter (what optimum runs) names each node by its module scope:
 * {@code /down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul}, possibly under a
 * wrapper's scope ({@code /unet/…}, {@code /model/…}) and with a container's name repeated
 * ({@code /to_out/to_out.0/MatMul}). The module path is the node name without its last segment
 * (the op), segments joined by dots, a repeated prefix folded. A {@code MatMul} weight is the
 * folded transpose {@code [in, out]}, a {@code Gemm} weight {@code [out, in]} with
 * {@code transB = 1} ({@code [in, out]} without), a {@code Conv} weight {@code [out, in, kh, kw]}.
 * Adapter targets are matched as dotted suffixes of these paths (so a wrapper prefix does not
 * matter), and kohya's underscore names against the same paths with dots replaced by
 * underscores: the model says where a {@code _} was a {@code .}.
 *
 * <p>The file is read through a memory map, the protobuf parsed with aliasing, so embedded raw
 * weights are views of the map, never copies; external data ({@code model.onnx_data}) is mapped
 * by each initializer's location, offset and length.
 */
public final class OnnxModel {

    /** How a weight initializer stores the torch weight {@code [out, in(, kh, kw)]}. */
    enum Layout {
        /** {@code [in, out]}: MatMul's folded transpose, Gemm with {@code transB = 0}. */
        IN_OUT,
        /** {@code [out, in]}: Gemm with {@code transB = 1}, MatMul over an explicit Transpose. */
        OUT_IN,
        /** {@code [out, in, kh, kw]} (any rank ≥ 3): Conv. */
        CONV
    }

    /**
     * One weight: the module path as the node name carries it (wrapper prefix included), the node,
     * its op, the initializer and its layout, element type and dims.
     */
    record Weight(String module, String node, String op, Layout layout, String initializer, DataType dataType,
                  long[] dims) {
        /** The torch layout of the weight: {@code [out, in(, kh, kw)]}. */
        long[] torchShape() {
            return layout == Layout.IN_OUT ? new long[] {dims[1], dims[0]} : dims.clone();
        }

        long elementCount() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** The token-embedding table of a text encoder: the initializer a Gather of the input ids reads. */
    record Embedding(String node, String initializer, DataType dataType, long rows, long width) {
    }

    private static final int MAX_GRAPH_BYTES = Integer.MAX_VALUE - 64;
    private static final Pattern DOWN_RESNET = Pattern.compile("(?:^|\\.)down_blocks\\.0\\.resnets\\.(\\d+)\\.");

    private final Path file;
    private final String label;
    private final Map<String, Onnx.TensorProto> initializers;
    private final Map<String, Integer> initializerUses;
    private final List<Weight> weights;
    private final Map<String, List<Weight>> byDottedSuffix = new HashMap<>();
    private final Map<String, List<Weight>> byUnderscoreSuffix = new HashMap<>();
    private final Embedding tokenEmbedding;

    private OnnxModel(Path file, String label, Onnx.GraphProto graph) {
        this.file = file;
        this.label = label;
        this.initializers = new LinkedHashMap<>();
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Map<String, Onnx.NodeProto> producers = new HashMap<>();
        Map<String, Integer> uses = new HashMap<>();
        for (Onnx.NodeProto n : graph.getNodeList()) {
            for (String out : n.getOutputList()) {
                producers.put(out, n);
            }
            for (String in : n.getInputList()) {
                if (initializers.containsKey(in)) {
                    uses.merge(in, 1, Integer::sum);
                }
            }
        }
        this.initializerUses = uses;
        List<Weight> found = new ArrayList<>();
        Embedding embedding = null;
        Set<String> graphInputs = new LinkedHashSet<>();
        for (Onnx.ValueInfoProto v : graph.getInputList()) {
            graphInputs.add(v.getName());
        }
        for (Onnx.NodeProto n : graph.getNodeList()) {
            if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx")) {
                continue;
            }
            String module = modulePath(n.getName());
            switch (n.getOpType()) {
                case "MatMul", "Gemm", "Conv" -> {
                    Weight w = weight(n, module, producers);
                    if (w != null) {
                        found.add(w);
                    }
                }
                case "Gather" -> {
                    Embedding e = embedding(n, module, producers, graphInputs);
                    if (e != null && (embedding == null || module.endsWith("token_embedding"))) {
                        embedding = e;
                    }
                }
                default -> {
                }
            }
        }
        this.weights = List.copyOf(found);
        this.tokenEmbedding = embedding;
        for (Weight w : weights) {
            if (w.module().isEmpty()) {
                continue;
            }
            String[] parts = w.module().split("\\.");
            for (int i = 0; i < parts.length; i++) {
                String suffix = String.join(".", Arrays.asList(parts).subList(i, parts.length));
                byDottedSuffix.computeIfAbsent(suffix, k -> new ArrayList<>(1)).add(w);
                byUnderscoreSuffix.computeIfAbsent(suffix.replace('.', '_'), k -> new ArrayList<>(1)).add(w);
            }
        }
    }

    /**
     * Reads the graph of {@code file}.
     *
     * @param label the component and file for messages, e.g. {@code unet/model.onnx}
     * @throws SdxlException naming {@code label} and the file when it is missing or not an ONNX model
     */
    public static OnnxModel read(Path file, String label) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > MAX_GRAPH_BYTES) {
                throw new SdxlException(label + ": " + file + " is " + size + " bytes; a protobuf graph is below 2 GiB"
                        + " (larger exports keep their weights in external data)");
            }
            MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
            CodedInputStream in = CodedInputStream.newInstance(map);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            Onnx.ModelProto model = Onnx.ModelProto.parseFrom(in);
            if (!model.hasGraph()) {
                throw new SdxlException(label + ": " + file + " has no graph");
            }
            return new OnnxModel(file, label, model.getGraph());
        } catch (NoSuchFileException e) {
            throw new SdxlException(label + ": file not found (" + file + ")");
        } catch (IOException e) {
            throw new SdxlException(label + ": " + file + " is not a readable ONNX model: " + e.getMessage(), e);
        }
    }

    Path file() {
        return file;
    }

    String label() {
        return label;
    }

    /** Every weight found, in graph order. */
    List<Weight> weights() {
        return weights;
    }

    /** The token-embedding table, when the graph has a Gather of the input ids on an initializer. */
    Optional<Embedding> tokenEmbedding() {
        return Optional.ofNullable(tokenEmbedding);
    }

    /** How many node inputs read the initializer. */
    int uses(String initializer) {
        return initializerUses.getOrDefault(initializer, 0);
    }

    /** The weights whose module path ends with the dotted {@code suffix} (at a segment boundary). */
    List<Weight> byDottedSuffix(String suffix) {
        return distinct(byDottedSuffix.getOrDefault(suffix, List.of()));
    }

    /** The weights whose module path, dots written as underscores, ends with {@code suffix}. */
    List<Weight> byUnderscoreSuffix(String suffix) {
        return distinct(byUnderscoreSuffix.getOrDefault(suffix, List.of()));
    }

    /** True when some module path contains the dotted {@code fragment} at a segment boundary. */
    boolean hasModuleContaining(String fragment) {
        for (Weight w : weights) {
            String m = "." + w.module() + ".";
            if (m.contains("." + fragment + ".")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The UNet's {@code layers_per_block}: how many resnets its first down block has (2 for SDXL),
     * or {@code fallback} when the paths do not say.
     */
    int layersPerBlock(int fallback) {
        int max = -1;
        for (Weight w : weights) {
            Matcher m = DOWN_RESNET.matcher(w.module() + ".");
            if (m.find()) {
                max = Math.max(max, Integer.parseInt(m.group(1)));
            }
        }
        return max < 0 ? fallback : max + 1;
    }

    /**
     * The initializer's elements as float32, in stored order.
     *
     * @throws SdxlException naming the initializer when it is not float32/float16 or its data does
     *                       not fit its dims
     */
    public float[] floats(String initializer) {
        Onnx.TensorProto t = initializer(initializer);
        DataType type = dataType(t);
        long count = elementCount(t);
        if (type != DataType.FLOAT32 && type != DataType.FLOAT16) {
            throw new SdxlException(label + ": initializer " + initializer + " is "
                    + Onnx.TensorProto.DataType.forNumber(t.getDataType()) + ", not float32 or float16");
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw new SdxlException(label + ": initializer " + initializer + " has " + count + " elements");
        }
        float[] out = new float[(int) count];
        if (!isExternal(t) && !t.hasRawData()) {
            // Typed fields: float_data for float32, int32_data holding the bits for float16.
            if (type == DataType.FLOAT32) {
                check(t, t.getFloatDataCount(), count);
                for (int i = 0; i < out.length; i++) {
                    out[i] = t.getFloatData(i);
                }
            } else {
                check(t, t.getInt32DataCount(), count);
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.float16ToFloat((short) t.getInt32Data(i));
                }
            }
            return out;
        }
        ByteBuffer raw = rawBytes(t, count * type.bytes());
        if (type == DataType.FLOAT32) {
            raw.asFloatBuffer().get(out);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = Float.float16ToFloat(raw.getShort(2 * i));
            }
        }
        return out;
    }

    /**
     * The initializer's data as stored, little-endian (a view of the mapped file, never a copy), for
     * initializers held as raw bytes, embedded or external.
     *
     * @throws SdxlException naming the initializer when its data is in typed fields or does not fit its dims
     */
    public ByteBuffer rawData(String initializer) {
        Onnx.TensorProto t = initializer(initializer);
        if (!isExternal(t) && !t.hasRawData()) {
            throw new SdxlException(label + ": initializer " + t.getName() + " keeps its data in typed fields");
        }
        int size = switch (t.getDataType()) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE, Onnx.TensorProto.DataType.INT32_VALUE,
                 Onnx.TensorProto.DataType.UINT32_VALUE -> 4;
            case Onnx.TensorProto.DataType.INT64_VALUE, Onnx.TensorProto.DataType.DOUBLE_VALUE,
                 Onnx.TensorProto.DataType.UINT64_VALUE -> 8;
            case Onnx.TensorProto.DataType.FLOAT16_VALUE, Onnx.TensorProto.DataType.BFLOAT16_VALUE,
                 Onnx.TensorProto.DataType.INT16_VALUE, Onnx.TensorProto.DataType.UINT16_VALUE -> 2;
            case Onnx.TensorProto.DataType.INT8_VALUE, Onnx.TensorProto.DataType.UINT8_VALUE,
                 Onnx.TensorProto.DataType.BOOL_VALUE -> 1;
            default -> throw new SdxlException(label + ": initializer " + t.getName() + " has element type "
                    + t.getDataType() + ", which sdxl4j does not copy");
        };
        return rawBytes(t, elementCount(t) * size);
    }

    /** The initializer's dims. */
    long[] dims(String initializer) {
        return initializer(initializer).getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    private Onnx.TensorProto initializer(String name) {
        Onnx.TensorProto t = initializers.get(name);
        if (t == null) {
            throw new SdxlException(label + ": no initializer " + name);
        }
        return t;
    }

    private void check(Onnx.TensorProto t, int have, long want) {
        if (have != want) {
            throw new SdxlException(label + ": initializer " + t.getName() + " holds " + have + " values for dims "
                    + t.getDimsList() + " (" + want + ")");
        }
    }

    /** The raw little-endian bytes of an embedded or external initializer, checked to be {@code bytes} long. */
    private ByteBuffer rawBytes(Onnx.TensorProto t, long bytes) {
        if (!isExternal(t)) {
            ByteString raw = t.getRawData();
            if (raw.size() != bytes) {
                throw new SdxlException(label + ": initializer " + t.getName() + " has " + raw.size()
                        + " bytes of data for dims " + t.getDimsList() + " (" + bytes + ")");
            }
            // slice(): a view of part of a larger buffer (an aliased parse) starts at its own position.
            return raw.asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
        }
        return externalData(file.toAbsolutePath().getParent(), t, bytes, label);
    }

    /**
     * The external data of initializer {@code t} of a model in {@code folder}, mapped (never
     * copied), checked to be {@code bytes} long and to lie inside the folder and its file.
     *
     * @param label the component and file for messages, e.g. {@code unet/model.onnx}
     * @throws SdxlException naming {@code label} and the initializer otherwise
     */
    public static ByteBuffer externalData(Path folder, Onnx.TensorProto t, long bytes, String label) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (Onnx.StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parse(t, e, label);
                case "length" -> length = parse(t, e, label);
                default -> {
                }
            }
        }
        if (location == null) {
            throw new SdxlException(label + ": initializer " + t.getName() + " is external without a location");
        }
        Path dir = folder.toAbsolutePath().normalize();
        Path data = dir.resolve(location).normalize();
        if (!data.startsWith(dir)) {
            throw new SdxlException(label + ": initializer " + t.getName() + " points outside the model folder: "
                    + location);
        }
        if (length < 0) {
            length = bytes;
        }
        if (length != bytes) {
            throw new SdxlException(label + ": initializer " + t.getName() + " has " + length
                    + " external bytes for dims " + t.getDimsList() + " (" + bytes + ")");
        }
        try (FileChannel channel = FileChannel.open(data, StandardOpenOption.READ)) {
            long size = channel.size();
            if (offset < 0 || offset > size || length > size - offset) {
                throw new SdxlException(label + ": initializer " + t.getName() + ": bytes [" + offset + ", "
                        + (offset + length) + ") lie outside " + data + " (" + size + " bytes)");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (NoSuchFileException e) {
            throw new SdxlException(label + ": external data of " + t.getName() + " not found (" + data + ")");
        } catch (IOException e) {
            throw new SdxlException(label + ": cannot read external data " + data + ": " + e.getMessage(), e);
        }
    }

    private static long parse(Onnx.TensorProto t, Onnx.StringStringEntryProto e, String label) {
        try {
            return Long.parseLong(e.getValue());
        } catch (NumberFormatException ex) {
            throw new SdxlException(label + ": initializer " + t.getName() + ": external " + e.getKey() + " '"
                    + e.getValue() + "' is not a number");
        }
    }

    private static boolean isExternal(Onnx.TensorProto t) {
        return t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL;
    }

    private static long elementCount(Onnx.TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The element type, or null for one the engines do not take. */
    static DataType dataType(Onnx.TensorProto t) {
        return switch (t.getDataType()) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE -> DataType.FLOAT32;
            case Onnx.TensorProto.DataType.FLOAT16_VALUE -> DataType.FLOAT16;
            case Onnx.TensorProto.DataType.INT64_VALUE -> DataType.INT64;
            case Onnx.TensorProto.DataType.INT32_VALUE -> DataType.INT32;
            default -> null;
        };
    }

    private Weight weight(Onnx.NodeProto n, String module, Map<String, Onnx.NodeProto> producers) {
        if (n.getInputCount() < 2) {
            return null;
        }
        String input = n.getInput(1);
        Onnx.TensorProto t = initializers.get(input);
        boolean transposed = false;
        if (t == null && !n.getOpType().equals("Conv")) {
            // An unfolded Transpose of the weight: [out, in] read through Transpose(perm = [1, 0]).
            Onnx.NodeProto p = producers.get(input);
            if (p != null && p.getOpType().equals("Transpose") && p.getInputCount() == 1
                    && initializers.containsKey(p.getInput(0)) && isSwap(p)) {
                t = initializers.get(p.getInput(0));
                transposed = true;
            }
        }
        if (t == null) {
            return null;
        }
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        Layout layout;
        switch (n.getOpType()) {
            case "Conv" -> {
                if (dims.length < 3) {
                    return null;
                }
                layout = Layout.CONV;
            }
            case "Gemm" -> {
                if (dims.length != 2) {
                    return null;
                }
                boolean transB = intAttribute(n, "transB", 0) != 0;
                layout = transB != transposed ? Layout.OUT_IN : Layout.IN_OUT;
            }
            default -> {
                if (dims.length != 2) {
                    return null;
                }
                layout = transposed ? Layout.OUT_IN : Layout.IN_OUT;
            }
        }
        return new Weight(module, n.getName(), n.getOpType(), layout, t.getName(), dataType(t), dims);
    }

    private Embedding embedding(Onnx.NodeProto n, String module, Map<String, Onnx.NodeProto> producers,
                                Set<String> graphInputs) {
        if (n.getInputCount() < 2 || intAttribute(n, "axis", 0) != 0) {
            return null;
        }
        Onnx.TensorProto t = initializers.get(n.getInput(0));
        if (t == null || t.getDimsCount() != 2) {
            return null;
        }
        DataType type = dataType(t);
        if (type != DataType.FLOAT32 && type != DataType.FLOAT16) {
            return null;
        }
        boolean byName = module.endsWith("token_embedding");
        boolean byInput = readsGraphInput(n.getInput(1), producers, graphInputs, 4);
        if (!byName && !byInput) {
            return null;
        }
        return new Embedding(n.getName(), t.getName(), type, t.getDims(0), t.getDims(1));
    }

    /** True when {@code value} is a graph input or a Cast/Reshape/… chain of at most {@code depth} from one. */
    private static boolean readsGraphInput(String value, Map<String, Onnx.NodeProto> producers, Set<String> inputs,
                                           int depth) {
        if (inputs.contains(value)) {
            return true;
        }
        Onnx.NodeProto p = producers.get(value);
        if (p == null || depth == 0 || p.getInputCount() == 0) {
            return false;
        }
        return switch (p.getOpType()) {
            case "Cast", "Reshape", "Identity", "Flatten", "Unsqueeze", "Squeeze" ->
                    readsGraphInput(p.getInput(0), producers, inputs, depth - 1);
            default -> false;
        };
    }

    private static boolean isSwap(Onnx.NodeProto transpose) {
        for (Onnx.AttributeProto a : transpose.getAttributeList()) {
            if (a.getName().equals("perm")) {
                return a.getIntsCount() == 2 && a.getInts(0) == 1 && a.getInts(1) == 0;
            }
        }
        return true; // no perm: reverse the axes, a swap for a matrix
    }

    private static long intAttribute(Onnx.NodeProto n, String name, long fallback) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }

    /**
     * The module path in a TorchScript-exported node name: {@code /unet/down_blocks.1/…/to_q/MatMul}
     * → {@code unet.down_blocks.1.….to_q}. A segment that starts with the path so far's last
     * segments ({@code to_out/to_out.0}) adds only its remainder. Empty for a name without scopes.
     */
    static String modulePath(String nodeName) {
        if (nodeName == null || !nodeName.startsWith("/")) {
            return "";
        }
        String[] segments = nodeName.substring(1).split("/");
        List<String> path = new ArrayList<>();
        for (int s = 0; s < segments.length - 1; s++) {
            String[] parts = segments[s].split("\\.");
            int overlap = 0;
            for (int j = Math.min(parts.length - 1, path.size()); j > 0; j--) {
                if (path.subList(path.size() - j, path.size()).equals(Arrays.asList(parts).subList(0, j))) {
                    overlap = j;
                    break;
                }
            }
            for (int k = overlap; k < parts.length; k++) {
                if (!parts[k].isEmpty()) {
                    path.add(parts[k]);
                }
            }
        }
        return String.join(".", path);
    }

    private static List<Weight> distinct(List<Weight> list) {
        if (list.size() < 2) {
            return list;
        }
        Map<String, Weight> byNode = new LinkedHashMap<>();
        for (Weight w : list) {
            byNode.putIfAbsent(w.node() + "|" + w.initializer(), w);
        }
        return List.copyOf(byNode.values());
    }
}
