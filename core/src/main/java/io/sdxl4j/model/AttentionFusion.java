// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.onnx.Onnx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewrites the attention blocks of an export into ONNX Runtime's {@code com.microsoft.MultiHeadAttention},
 * as ONNX Runtime's Python transformers optimizer does for Stable Diffusion
 * ({@code fusion_attention_unet.py}) and only there: its C++ graph optimizer, which runs at session
 * creation, matches BERT's attention, not diffusers'. The fused node computes the same
 * {@code softmax(scale · Q·Kᵀ)·V} per head but never materializes the {@code [B·heads, S, S]}
 * score matrix on the providers that have a flash kernel for it: ONNX Runtime's CPU kernel (MLAS
 * flash attention, float32, when there is no mask) and its CUDA kernel (flash / memory-efficient
 * attention). The Q, K and V projections stay the export's MatMuls.
 *
 * <p>Two export patterns are matched, with the head count read from their Reshape targets and
 * every Reshape's target checked element by element (symbolically, for the targets the exporter
 * computes from {@code Shape}):
 * <ul>
 *   <li>diffusers' {@code AttnProcessor} ({@code head_to_batch_dim}, {@code baddbmm} with β = 0):
 *       {@code Reshape [B,S,h,d] → Transpose(0,2,1,3) → Reshape [B·h,S,d]} for Q, K, V,
 *       {@code K → Transpose(0,2,1)}, {@code MatMul → Mul(scale) → Add(0·empty) → Softmax →
 *       MatMul}, then {@code Reshape [B,h,S,d] → Transpose(0,2,1,3) → Reshape [B,S,h·d]};</li>
 *   <li>{@code scaled_dot_product_attention} as torch exports it ({@code AttnProcessor2_0}) and as the
 *       synthetic SDXL of the benchmarks writes it: {@code Reshape [B,S,h,d] → Transpose(0,2,1,3)}
 *       (K {@code (0,2,3,1)}, or {@code (0,2,1,3)} then {@code (0,1,3,2)}), the scale on the scores or
 *       split over Q and K, {@code Softmax → MatMul → Transpose(0,2,1,3) → Reshape [B,S,h·d]}.</li>
 * </ul>
 * Optional Casts around the Softmax (diffusers' {@code upcast_softmax}, the fp16 exports' cast back)
 * are accepted where they change nothing the fused node does not do itself. A block with anything
 * else on its scores — CLIP's causal mask, an attention mask —, an intermediate tensor used
 * outside it, or a Reshape target that does not say what the pattern needs, is left as it is (one
 * debug line each). The text encoders have 77 tokens: their score matrices are small, and their
 * causal mask would take the CPU kernel off its flash path, so there is nothing to gain there.
 */
public final class AttentionFusion {

    /** The rewrite's name, for caches and logs. */
    public static final String TAG = "fused-attention";

    /** ONNX Runtime's contrib operator domain. */
    public static final String DOMAIN = "com.microsoft";

    /** The rewrite as a {@link GraphRewrite}. */
    public static final GraphRewrite REWRITE = new GraphRewrite() {
        @Override
        public String tag() {
            return TAG;
        }

        @Override
        public Optional<Onnx.ModelProto> apply(Onnx.ModelProto model) {
            return fuse(model).map(Result::model);
        }
    };

    private static final Logger LOG = LoggerFactory.getLogger(AttentionFusion.class);

    private final Onnx.GraphProto graph;
    private final Map<String, Onnx.NodeProto> producers = new HashMap<>();
    private final Map<String, List<Onnx.NodeProto>> consumers = new HashMap<>();
    private final Map<String, Onnx.TensorProto> initializers = new HashMap<>();
    private final Map<String, Integer> types;

    private AttentionFusion(Onnx.GraphProto graph) {
        this.graph = graph;
        for (Onnx.NodeProto n : graph.getNodeList()) {
            for (String out : n.getOutputList()) {
                producers.put(out, n);
            }
            for (String in : n.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        this.types = ElementTypes.of(graph);
    }

    /**
     * The model with every attention block that matches fused, or empty when none does.
     *
     * @return the rewritten model, the blocks fused and the Softmax nodes left as they were
     */
    public static Optional<Result> fuse(Onnx.ModelProto model) {
        for (Onnx.NodeProto n : model.getGraph().getNodeList()) {
            for (Onnx.AttributeProto a : n.getAttributeList()) {
                if (a.hasG() || a.getGraphsCount() > 0) {
                    LOG.debug("attention fusion: the graph has subgraphs ({} {}); left as it is", n.getOpType(),
                            n.getName());
                    return Optional.empty();
                }
            }
        }
        AttentionFusion f = new AttentionFusion(model.getGraph());
        Map<String, Onnx.NodeProto> replacements = new HashMap<>(); // final node's output -> fused node
        int left = 0;
        for (Onnx.NodeProto n : model.getGraph().getNodeList()) {
            if (!n.getOpType().equals("Softmax")) {
                continue;
            }
            try {
                Block b = f.match(n);
                replacements.put(b.output(), b.node());
            } catch (NoMatch e) {
                left++;
                LOG.debug("attention fusion: {} left unfused: {}", n.getName().isEmpty() ? n.getOutput(0) : n.getName(),
                        e.getMessage());
            }
        }
        if (replacements.isEmpty()) {
            return Optional.empty();
        }
        Onnx.GraphProto.Builder out = model.getGraph().toBuilder().clearNode();
        List<Onnx.NodeProto> nodes = new ArrayList<>();
        for (Onnx.NodeProto n : model.getGraph().getNodeList()) {
            Onnx.NodeProto fused = n.getOutputCount() == 1 ? replacements.get(n.getOutput(0)) : null;
            nodes.add(fused != null ? fused : n);
        }
        List<Onnx.NodeProto> live = live(nodes, model.getGraph());
        out.addAllNode(live);
        Set<String> used = new HashSet<>();
        live.forEach(n -> used.addAll(n.getInputList()));
        model.getGraph().getOutputList().forEach(o -> used.add(o.getName()));
        out.clearInitializer();
        for (Onnx.TensorProto t : model.getGraph().getInitializerList()) {
            if (used.contains(t.getName())) {
                out.addInitializer(t);
            }
        }
        Onnx.ModelProto.Builder m = model.toBuilder().setGraph(out);
        if (m.getOpsetImportList().stream().noneMatch(o -> o.getDomain().equals(DOMAIN))) {
            m.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain(DOMAIN).setVersion(1));
        }
        LOG.debug("attention fusion: {} blocks fused, {} Softmax nodes left as they were", replacements.size(), left);
        return Optional.of(new Result(m.build(), replacements.size(), left));
    }

    /**
     * The rewritten model, the attention blocks fused into MultiHeadAttention, and the Softmax nodes
     * left as they were (not attention of a matching pattern).
     */
    public record Result(Onnx.ModelProto model, int fused, int leftAlone) {
    }

    /** The number of {@code com.microsoft.MultiHeadAttention} nodes of a model. */
    public static int fusedBlocks(Onnx.ModelProto model) {
        int n = 0;
        for (Onnx.NodeProto node : model.getGraph().getNodeList()) {
            n += node.getOpType().equals("MultiHeadAttention") && node.getDomain().equals(DOMAIN) ? 1 : 0;
        }
        return n;
    }

    /** A matched block: the fused node, and the tensor of the block's output it produces. */
    private record Block(Onnx.NodeProto node, String output) {
    }

    /** Why a block was left alone (no stack: it is an answer, not an error). */
    private static final class NoMatch extends Exception {
        NoMatch(String reason) {
            super(reason, null, false, false);
        }
    }

    private static void require(boolean condition, String reason) throws NoMatch {
        if (!condition) {
            throw new NoMatch(reason);
        }
    }

    private Block match(Onnx.NodeProto softmax) throws NoMatch {
        long axis = ElementTypes.attribute(softmax, "axis").map(a -> a.getI()).orElse(-1L);
        double scale = 1;

        // Upwards from the Softmax: [Cast to float] [Add zero] [Mul/Div scale] MatMul(Q, Kᵀ).
        String x = softmax.getInput(0);
        Onnx.NodeProto n = producer(x);
        if (is(n, "Cast")) {
            require(castTo(n) == ElementTypes.FLOAT, "a Cast to other than float before the Softmax");
            x = single(n);
            n = producer(x);
        }
        if (is(n, "Add")) {
            require(sole(n.getOutput(0)), "the scores are used elsewhere");
            if (isZero(n.getInput(1))) {
                x = n.getInput(0);
            } else if (isZero(n.getInput(0))) {
                x = n.getInput(1);
            } else {
                throw new NoMatch("a mask or bias is added to the scores");
            }
            n = producer(x);
        }
        if ((is(n, "Mul") || is(n, "Div")) && sole(n.getOutput(0))) {
            Scaled s = scaled(n);
            if (s != null) {
                scale = s.apply(scale);
                x = s.operand();
                n = producer(x);
            }
        }
        require(is(n, "MatMul"), "no MatMul before the Softmax");
        Onnx.NodeProto scores = n;
        require(sole(scores.getOutput(0)), "the scores are used elsewhere");

        // Downwards: [Cast] MatMul(probabilities, V).
        String probs = softmax.getOutput(0);
        Onnx.NodeProto next = onlyConsumer(probs);
        int castAfter = -1;
        if (is(next, "Cast")) {
            castAfter = castTo(next);
            probs = next.getOutput(0);
            next = onlyConsumer(probs);
        }
        require(is(next, "MatMul") && next.getInput(0).equals(probs), "the probabilities do not go into a MatMul with V");
        Onnx.NodeProto weighted = next;

        // Q and K, with a scale on either (torch's scaled-dot-product export puts one on each).
        Scaled qs = operandScale(scores.getInput(0));
        Scaled ks = operandScale(scores.getInput(1));
        scale = ks.apply(qs.apply(scale));
        String qh = qs.operand();
        String kt = ks.operand();
        String vh = weighted.getInput(1);

        boolean batched = is(producer(qh), "Reshape"); // AttnProcessor: heads folded into the batch
        require(batched ? axis == -1 || axis == 2 : axis == -1 || axis == 3, "Softmax not over the keys");
        Heads q;
        Heads k;
        Heads v;
        String merged;
        Onnx.NodeProto last;
        if (batched) {
            q = batchedHeads(qh);
            Onnx.NodeProto t = producer(kt);
            require(is(t, "Transpose") && perm(t).equals(List.of(0L, 2L, 1L)) && sole(kt), "Kᵀ is not K transposed");
            k = batchedHeads(single(t));
            v = batchedHeads(vh);
            Onnx.NodeProto split = onlyConsumer(weighted.getOutput(0));
            require(is(split, "Reshape"), "the output is not split back into heads");
            Onnx.NodeProto transpose = onlyConsumer(split.getOutput(0));
            require(is(transpose, "Transpose") && perm(transpose).equals(List.of(0L, 2L, 1L, 3L)),
                    "the output heads are not transposed back");
            last = onlyConsumer(transpose.getOutput(0));
            require(is(last, "Reshape"), "the output heads are not merged");
            merged = weighted.getOutput(0);
            q.requireSame(k, "K");
            q.requireSame(v, "V");
            List<String> s3 = shape(split.getInput(1));
            String m = weighted.getOutput(0);
            require(s3 != null && s3.size() == 4, "the output split has no readable target");
            requireOneInferred(s3);
            require(in(s3.get(0), q.batch(), "-1", div(dim(m, 0), q.heads)), "the output split's batch");
            require(s3.get(1).equals(Long.toString(q.heads)), "the output split's heads");
            require(in(s3.get(2), Set.of(), "-1", dim(m, 1), dim(q.projection, 1)), "the output split's length");
            require(in(s3.get(3), q.width(), "-1", dim(m, 2)), "the output split's head width");
        } else {
            q = heads(qh);
            Onnx.NodeProto t = producer(kt);
            require(is(t, "Transpose") && sole(kt), "Kᵀ is not K transposed");
            if (perm(t).equals(List.of(0L, 2L, 3L, 1L))) {
                k = splitHeads(producer(single(t)), single(t));
            } else {
                require(perm(t).equals(List.of(0L, 1L, 3L, 2L)), "Kᵀ is not K transposed");
                k = heads(single(t));
            }
            v = heads(vh);
            q.requireSame(k, "K");
            q.requireSame(v, "V");
            Onnx.NodeProto transpose = onlyConsumer(weighted.getOutput(0));
            require(is(transpose, "Transpose") && perm(transpose).equals(List.of(0L, 2L, 1L, 3L)),
                    "the output heads are not transposed back");
            last = onlyConsumer(transpose.getOutput(0));
            require(is(last, "Reshape"), "the output heads are not merged");
            merged = weighted.getOutput(0);
        }
        Set<String> projections = Set.of(q.projection, k.projection, v.projection);
        q.requireWidthFrom(projections);
        k.requireWidthFrom(projections);
        v.requireWidthFrom(projections);

        // The merge [B, S, h, d] -> [B, S, h·d].
        List<String> s4 = shape(last.getInput(1));
        require(s4 != null && s4.size() == 3, "the output merge has no readable target");
        requireOneInferred(s4);
        Set<String> batch = new HashSet<>(q.batch());
        Set<String> length = new HashSet<>(Set.of(dim(q.projection, 1), dim(q.source, 1)));
        Set<String> width = new HashSet<>();
        for (String w : q.width()) {
            width.add(mul(w, Long.toString(q.heads)));
        }
        for (String t : projections) {
            width.add(dim(t, 2));
            width.add(mul(div(dim(t, 2), q.heads), Long.toString(q.heads)));
        }
        if (q.hidden > 0) {
            width.add(Long.toString(q.hidden));
        }
        if (batched) {
            batch.add(div(dim(merged, 0), q.heads));
            length.add(dim(merged, 1));
            width.add(mul(dim(merged, 2), Long.toString(q.heads)));
        } else {
            batch.add(dim(merged, 0));
            length.add(dim(merged, 2));
            width.add(mul(dim(merged, 3), Long.toString(q.heads)));
        }
        require(in(s4.get(0), batch, "0", "-1"), "the output merge's batch");
        require(in(s4.get(1), length, "0", "-1"), "the output merge's length");
        require(in(s4.get(2), width, "-1"), "the output merge's width");

        // Types: one float type throughout; the casts no more than the fused node does.
        Integer type = types.get(q.projection);
        require(type != null && (type == ElementTypes.FLOAT || type == ElementTypes.FLOAT16),
                "Q is not float32 or float16");
        require(type.equals(types.get(k.projection)) && type.equals(types.get(v.projection)),
                "Q, K and V differ in type");
        require(castAfter == -1 || castAfter == type, "the probabilities are cast to another type than V's");
        require(q.hidden < 0 || k.hidden < 0 || q.hidden == k.hidden, "Q and K differ in width");

        Onnx.NodeProto.Builder mha = Onnx.NodeProto.newBuilder().setOpType("MultiHeadAttention").setDomain(DOMAIN)
                .setName(scope(softmax) + "MultiHeadAttention").addInput(q.projection).addInput(k.projection)
                .addInput(v.projection).addOutput(last.getOutput(0))
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("num_heads").setI(q.heads)
                        .setType(Onnx.AttributeProto.AttributeType.INT));
        // The kernel's default scale is 1/√head_size; any other (or one we cannot check) is written out.
        double standard = q.hidden > 0 ? 1 / Math.sqrt((double) q.hidden / q.heads) : Double.NaN;
        if (!(Math.abs(scale - standard) <= 1e-6 * standard)) {
            mha.addAttribute(Onnx.AttributeProto.newBuilder().setName("scale").setF((float) scale)
                    .setType(Onnx.AttributeProto.AttributeType.FLOAT));
        }
        return new Block(mha.build(), last.getOutput(0));
    }

    /**
     * One of Q, K, V split into heads: its projection (the tensor before the split, {@code [B, S, C]}),
     * what that projection was computed from, the head count and the projection's width (-1 when the
     * graph does not say).
     */
    private final class Heads {
        final String projection;
        final String source;
        final long heads;
        final long hidden;
        String widthFrom; // another tensor whose width / h the split's head width is, or null

        Heads(String projection, long heads) {
            this.projection = projection;
            this.heads = heads;
            this.source = source(projection);
            this.hidden = projectionWidth(projection);
        }

        void requireSame(Heads other, String name) throws NoMatch {
            require(other.heads == heads, name + " has " + other.heads + " heads, Q " + heads);
            require(other.hidden < 0 || hidden < 0 || other.hidden == hidden, name + " differs from Q in width");
        }

        // A head width read from another tensor's width is one only when that tensor is Q, K or V.
        void requireWidthFrom(Set<String> projections) throws NoMatch {
            require(widthFrom == null || projections.contains(widthFrom), "a head width from outside the block");
        }

        /** The target elements that mean "the batch". */
        Set<String> batch() {
            return Set.of(dim(projection, 0), dim(source, 0));
        }

        /** The target elements that mean "the head width", C / h. */
        Set<String> width() {
            Set<String> w = new HashSet<>(Set.of(div(dim(projection, 2), heads)));
            if (hidden > 0) {
                w.add(Long.toString(hidden / heads));
            }
            return w;
        }
    }

    // [B, S, C] -> Reshape [B, S, h, d] -> Transpose (0, 2, 1, 3) -> Reshape [B·h, S, d]
    private Heads batchedHeads(String tensor) throws NoMatch {
        Onnx.NodeProto r = producer(tensor);
        require(is(r, "Reshape") && sole(tensor), "a head split is not a Reshape used once");
        Onnx.NodeProto t = producer(r.getInput(0));
        require(is(t, "Transpose") && perm(t).equals(List.of(0L, 2L, 1L, 3L)) && sole(r.getInput(0)),
                "the heads are not transposed before the batch fold");
        Heads h = splitHeads(producer(t.getInput(0)), t.getInput(0));
        List<String> s = shape(r.getInput(1));
        require(s != null && s.size() == 3, "the batch fold has no readable target");
        requireOneInferred(s);
        Set<String> folded = new HashSet<>();
        for (String b : h.batch()) {
            folded.add(mul(b, Long.toString(h.heads)));
        }
        require(in(s.get(0), folded, "-1"), "the batch fold's batch is not B·h");
        require(in(s.get(1), Set.of(), "-1", dim(h.projection, 1)), "the batch fold's length");
        require(in(s.get(2), h.width(), "-1"), "the batch fold's head width");
        return h;
    }

    // [B, S, C] -> Reshape [B, S, h, d] -> Transpose (0, 2, 1, 3)
    private Heads heads(String tensor) throws NoMatch {
        Onnx.NodeProto t = producer(tensor);
        require(is(t, "Transpose") && perm(t).equals(List.of(0L, 2L, 1L, 3L)) && sole(tensor),
                "the heads are not transposed once");
        return splitHeads(producer(t.getInput(0)), t.getInput(0));
    }

    // Reshape [B, S, C] -> [B, S, h, d], h from the target.
    private Heads splitHeads(Onnx.NodeProto r, String output) throws NoMatch {
        require(is(r, "Reshape") && sole(output), "no Reshape into heads");
        List<String> s = shape(r.getInput(1));
        require(s != null && s.size() == 4, "the head split has no readable target");
        long heads;
        try {
            heads = Long.parseLong(s.get(2));
        } catch (NumberFormatException e) {
            throw new NoMatch("the head count is not a constant");
        }
        require(heads > 0, "the head count is not positive");
        Heads h = new Heads(r.getInput(0), heads);
        require(h.hidden < 0 || h.hidden % heads == 0, "the width is not a multiple of the heads");
        requireOneInferred(s);
        require(in(s.get(0), h.batch(), "0"), "the head split's batch");
        require(in(s.get(1), Set.of(), "0", "-1", dim(h.projection, 1)), "the head split's length");
        // AttnProcessor2_0 takes head_dim from the key's width (key.shape[-1] // heads): that is a
        // head width only if that tensor is one of the block's projections, checked once all are known.
        if (!in(s.get(3), h.width(), "-1")) {
            for (String other : otherProjections(r)) {
                if (s.get(3).equals(div(dim(other, 2), heads))) {
                    h.widthFrom = other;
                }
            }
            require(h.widthFrom != null, "the head split's head width");
        }
        return h;
    }

    // The tensors a head width may be read from: the projections the block's other splits start from.
    private Set<String> otherProjections(Onnx.NodeProto split) {
        Set<String> names = new LinkedHashSet<>();
        Onnx.NodeProto target = producers.get(split.getInput(1));
        if (target != null) {
            collectShapeSources(target, names, 0);
        }
        return names;
    }

    private void collectShapeSources(Onnx.NodeProto n, Set<String> names, int depth) {
        if (depth > 8) {
            return;
        }
        if (is(n, "Shape")) {
            names.add(n.getInput(0));
            return;
        }
        for (String in : n.getInputList()) {
            Onnx.NodeProto p = producers.get(in);
            if (p != null) {
                collectShapeSources(p, names, depth + 1);
            }
        }
    }

    // What a projection was computed from: the input of its MatMul (through a bias Add).
    private String source(String projection) {
        Onnx.NodeProto n = producers.get(projection);
        if (is(n, "Add")) {
            for (String in : n.getInputList()) {
                if (is(producers.get(in), "MatMul")) {
                    n = producers.get(in);
                    break;
                }
            }
        }
        return is(n, "MatMul") ? n.getInput(0) : projection;
    }

    // A projection's width, from its MatMul's [in, out] weight; -1 when that is not an initializer.
    private long projectionWidth(String projection) {
        Onnx.NodeProto n = producers.get(projection);
        if (is(n, "Add")) {
            for (String in : n.getInputList()) {
                if (is(producers.get(in), "MatMul")) {
                    n = producers.get(in);
                    break;
                }
            }
        }
        if (is(n, "MatMul")) {
            Onnx.TensorProto w = initializers.get(n.getInput(1));
            if (w != null && w.getDimsCount() == 2) {
                return w.getDims(1);
            }
        }
        return -1;
    }

    private record Scaled(String operand, double factor, boolean divide) {
        double apply(double scale) {
            return divide ? scale / factor : scale * factor;
        }
    }

    // {@code tensor} made by a Mul/Div by a scalar constant used nowhere else: its operand and factor;
    // otherwise the tensor itself, times 1.
    private Scaled operandScale(String tensor) {
        Onnx.NodeProto n = producer(tensor);
        if ((is(n, "Mul") || is(n, "Div")) && sole(tensor)) {
            Scaled s = scaled(n);
            if (s != null) {
                return s;
            }
        }
        return new Scaled(tensor, 1, false);
    }

    // Mul by a scalar constant (either side) or Div by one: the other operand and the factor.
    private Scaled scaled(Onnx.NodeProto n) {
        if (n.getInputCount() != 2) {
            return null;
        }
        OptionalDouble b = scalar(n.getInput(1));
        if (b.isPresent()) {
            return new Scaled(n.getInput(0), b.getAsDouble(), is(n, "Div"));
        }
        OptionalDouble a = scalar(n.getInput(0));
        if (a.isPresent() && is(n, "Mul")) {
            return new Scaled(n.getInput(1), a.getAsDouble(), false);
        }
        return null;
    }

    // baddbmm's β·input with β = 0 as the exporter writes it: Mul(ConstantOfShape, 0), or zeros.
    private boolean isZero(String tensor) {
        Onnx.NodeProto n = producers.get(tensor);
        if (is(n, "ConstantOfShape")) {
            Optional<Onnx.AttributeProto> value = ElementTypes.attribute(n, "value");
            return value.isEmpty() || allZero(value.get().getT());
        }
        if (is(n, "Mul")) {
            String a = n.getInput(0);
            String b = n.getInput(1);
            return isZero(a) && finite(b) || isZero(b) && finite(a) || zeroScalar(b) && finite(a)
                    || zeroScalar(a) && finite(b);
        }
        Onnx.TensorProto t = constant(tensor);
        return t != null && allZero(t);
    }

    private boolean zeroScalar(String tensor) {
        OptionalDouble v = scalar(tensor);
        return v.isPresent() && v.getAsDouble() == 0;
    }

    // A tensor that cannot hold inf or NaN, so that 0 times it is 0: a constant fill or a scalar.
    private boolean finite(String tensor) {
        Onnx.NodeProto n = producers.get(tensor);
        if (is(n, "ConstantOfShape")) {
            Optional<Onnx.AttributeProto> value = ElementTypes.attribute(n, "value");
            return value.isEmpty() || Double.isFinite(values(value.get().getT())[0]);
        }
        OptionalDouble v = scalar(tensor);
        return v.isPresent() && Double.isFinite(v.getAsDouble());
    }

    private static boolean allZero(Onnx.TensorProto t) {
        for (double d : values(t)) {
            if (d != 0) {
                return false;
            }
        }
        return true;
    }

    // A float constant of one element (initializer or Constant node).
    private OptionalDouble scalar(String tensor) {
        Onnx.TensorProto t = constant(tensor);
        if (t == null) {
            return OptionalDouble.empty();
        }
        long count = 1;
        for (long d : t.getDimsList()) {
            count *= d;
        }
        int type = t.getDataType();
        boolean isFloat = type == ElementTypes.FLOAT || type == ElementTypes.FLOAT16
                || type == Onnx.TensorProto.DataType.DOUBLE_VALUE;
        if (count != 1 || !isFloat) {
            return OptionalDouble.empty();
        }
        double[] v = values(t);
        return v.length == 1 ? OptionalDouble.of(v[0]) : OptionalDouble.empty();
    }

    // The values of a small embedded float or integer tensor (empty for external data).
    private static double[] values(Onnx.TensorProto t) {
        var raw = t.getRawData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int type = t.getDataType();
        List<Double> out = new ArrayList<>();
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
            return new double[0];
        }
        if (type == ElementTypes.FLOAT) {
            if (t.getFloatDataCount() > 0) {
                t.getFloatDataList().forEach(f -> out.add((double) f));
            }
            while (raw.remaining() >= 4) {
                out.add((double) raw.getFloat());
            }
        } else if (type == Onnx.TensorProto.DataType.DOUBLE_VALUE) {
            t.getDoubleDataList().forEach(out::add);
            while (raw.remaining() >= 8) {
                out.add(raw.getDouble());
            }
        } else if (type == ElementTypes.FLOAT16) {
            t.getInt32DataList().forEach(b -> out.add((double) Float.float16ToFloat((short) (int) b)));
            while (raw.remaining() >= 2) {
                out.add((double) Float.float16ToFloat(raw.getShort()));
            }
        } else if (type == ElementTypes.INT64) {
            t.getInt64DataList().forEach(l -> out.add((double) l));
            while (raw.remaining() >= 8) {
                out.add((double) raw.getLong());
            }
        } else if (type == Onnx.TensorProto.DataType.INT32_VALUE) {
            t.getInt32DataList().forEach(i -> out.add((double) i));
            while (raw.remaining() >= 4) {
                out.add((double) raw.getInt());
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    // An initializer, or the value of a Constant node.
    private Onnx.TensorProto constant(String tensor) {
        Onnx.TensorProto t = initializers.get(tensor);
        if (t != null) {
            return t;
        }
        Onnx.NodeProto n = producers.get(tensor);
        if (is(n, "Constant")) {
            return ElementTypes.attribute(n, "value").filter(Onnx.AttributeProto::hasT).map(Onnx.AttributeProto::getT)
                    .orElse(null);
        }
        return null;
    }

    /**
     * A 1-D integer tensor (a Reshape target) as one string per element: the number for a constant
     * element, else its expression over the dims of other tensors, {@code dim(x,i)},
     * {@code div(a,b)}, {@code mul(a,b)} (operands sorted); null when it is computed otherwise.
     */
    private List<String> shape(String tensor) {
        Object v = eval(tensor, 0);
        if (v instanceof List<?> l) {
            List<String> out = new ArrayList<>();
            l.forEach(e -> out.add((String) e));
            return out;
        }
        return null;
    }

    private Object eval(String tensor, int depth) {
        if (depth > 16) {
            return null;
        }
        Onnx.TensorProto t = constant(tensor);
        if (t != null) {
            int type = t.getDataType();
            if (type != ElementTypes.INT64 && type != Onnx.TensorProto.DataType.INT32_VALUE) {
                return null;
            }
            double[] v = values(t);
            if (t.getDimsCount() == 0) {
                return v.length == 1 ? Long.toString((long) v[0]) : null;
            }
            List<String> out = new ArrayList<>();
            for (double d : v) {
                out.add(Long.toString((long) d));
            }
            return t.getDimsCount() == 1 ? out : null;
        }
        Onnx.NodeProto n = producers.get(tensor);
        if (n == null) {
            return null;
        }
        switch (n.getOpType()) {
            case "Cast", "Identity" -> {
                return eval(n.getInput(0), depth + 1);
            }
            case "Unsqueeze" -> {
                Object x = eval(n.getInput(0), depth + 1);
                List<Long> axes = n.getInputCount() > 1 ? ints(n.getInput(1))
                        : ElementTypes.attribute(n, "axes").map(a -> a.getIntsList()).orElse(null);
                return x instanceof String s && axes != null && axes.equals(List.of(0L)) ? List.of(s) : null;
            }
            case "Squeeze" -> {
                Object x = eval(n.getInput(0), depth + 1);
                return x instanceof List<?> l && l.size() == 1 ? l.get(0) : null;
            }
            case "Concat" -> {
                if (ElementTypes.attribute(n, "axis").map(a -> a.getI()).orElse(0L) != 0) {
                    return null;
                }
                List<String> out = new ArrayList<>();
                for (String in : n.getInputList()) {
                    Object x = eval(in, depth + 1);
                    if (!(x instanceof List<?> l)) {
                        return null;
                    }
                    l.forEach(e -> out.add((String) e));
                }
                return out;
            }
            case "Gather" -> {
                Onnx.NodeProto s = producers.get(n.getInput(0));
                boolean axis0 = ElementTypes.attribute(n, "axis").map(a -> a.getI()).orElse(0L) == 0;
                if (!is(s, "Shape") || !axis0 || ElementTypes.attribute(s, "start").isPresent()
                        || ElementTypes.attribute(s, "end").isPresent()) {
                    return null;
                }
                Onnx.TensorProto index = constant(n.getInput(1));
                List<Long> i = ints(n.getInput(1));
                if (index == null || i == null || i.size() != 1 || i.get(0) < 0) {
                    return null;
                }
                String d = dim(s.getInput(0), i.get(0));
                return index.getDimsCount() == 0 ? d : List.of(d);
            }
            case "Div", "Mul" -> {
                Object a = eval(n.getInput(0), depth + 1);
                Object b = eval(n.getInput(1), depth + 1);
                if (!(a instanceof String x) || !(b instanceof String y)) {
                    return null;
                }
                return n.getOpType().equals("Mul") ? mul(x, y) : div(x, y);
            }
            default -> {
                return null;
            }
        }
    }

    private List<Long> ints(String tensor) {
        Onnx.TensorProto t = constant(tensor);
        if (t == null || t.getDataType() != ElementTypes.INT64 && t.getDataType() != Onnx.TensorProto.DataType.INT32_VALUE) {
            return null;
        }
        List<Long> out = new ArrayList<>();
        for (double d : values(t)) {
            out.add((long) d);
        }
        return out;
    }

    private static String dim(String tensor, long i) {
        return "dim(" + tensor + "," + i + ")";
    }

    private static String div(String a, long b) {
        return div(a, Long.toString(b));
    }

    private static String div(String a, String b) {
        if (b.equals("1")) {
            return a;
        }
        try {
            return Long.toString(Math.floorDiv(Long.parseLong(a), Long.parseLong(b)));
        } catch (NumberFormatException | ArithmeticException e) {
            return "div(" + a + "," + b + ")";
        }
    }

    private static String mul(String a, String b) {
        if (a.equals("1") || b.equals("1")) {
            return a.equals("1") ? b : a;
        }
        try {
            return Long.toString(Long.parseLong(a) * Long.parseLong(b));
        } catch (NumberFormatException e) {
            return a.compareTo(b) <= 0 ? "mul(" + a + "," + b + ")" : "mul(" + b + "," + a + ")";
        }
    }

    private static boolean in(String element, Set<String> allowed, String... more) {
        return allowed.contains(element) || List.of(more).contains(element);
    }

    private static void requireOneInferred(List<String> target) throws NoMatch {
        require(target.stream().filter("-1"::equals).count() <= 1, "a Reshape target infers two dims");
    }

    private Onnx.NodeProto producer(String tensor) {
        return producers.get(tensor);
    }

    private static boolean is(Onnx.NodeProto n, String op) {
        return n != null && n.getOpType().equals(op) && (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"));
    }

    private static String single(Onnx.NodeProto n) {
        return n.getInput(0);
    }

    private static int castTo(Onnx.NodeProto cast) {
        return ElementTypes.attribute(cast, "to").map(a -> (int) a.getI()).orElse(-1);
    }

    private static List<Long> perm(Onnx.NodeProto transpose) {
        return ElementTypes.attribute(transpose, "perm").map(a -> a.getIntsList()).orElse(List.of());
    }

    // True when the tensor's only consumers, Shape nodes aside, are one node, and it is no graph output.
    private boolean sole(String tensor) {
        List<Onnx.NodeProto> users = consumers.getOrDefault(tensor, List.of());
        long real = users.stream().filter(u -> !is(u, "Shape")).count();
        return real == 1 && graph.getOutputList().stream().noneMatch(o -> o.getName().equals(tensor));
    }

    private Onnx.NodeProto onlyConsumer(String tensor) throws NoMatch {
        require(sole(tensor), "an intermediate tensor of the block is used outside it");
        for (Onnx.NodeProto u : consumers.get(tensor)) {
            if (!is(u, "Shape")) {
                return u;
            }
        }
        throw new NoMatch("no consumer");
    }

    private static String scope(Onnx.NodeProto n) {
        String name = n.getName();
        int slash = name.lastIndexOf('/');
        return slash >= 0 ? name.substring(0, slash + 1) : name.isEmpty() ? n.getOutput(0) + "/" : name + "/";
    }

    // The nodes that reach a graph output, in their order.
    private static List<Onnx.NodeProto> live(List<Onnx.NodeProto> nodes, Onnx.GraphProto graph) {
        Set<String> needed = new HashSet<>();
        graph.getOutputList().forEach(o -> needed.add(o.getName()));
        boolean[] keep = new boolean[nodes.size()];
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Onnx.NodeProto n = nodes.get(i);
            boolean used = false;
            for (String out : n.getOutputList()) {
                used |= needed.contains(out);
            }
            if (used) {
                keep[i] = true;
                needed.addAll(n.getInputList());
            }
        }
        List<Onnx.NodeProto> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (keep[i]) {
                out.add(nodes.get(i));
            }
        }
        return out;
    }
}
