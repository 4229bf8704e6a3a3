// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.SdxlException;
import io.sdxl4j.model.Component;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A LoRA / LyCORIS adapter file ({@code .safetensors}) read into its modules. Recognised key
 * layouts, per module stem:
 * <ul>
 * <li>kohya / AUTOMATIC1111: {@code lora_unet_…}, {@code lora_te1_…} (or {@code lora_te_…}),
 *     {@code lora_te2_…}, with {@code .lora_down.weight}, {@code .lora_up.weight}, optional
 *     {@code .lora_mid.weight} (LoCon Tucker) and a 0-d {@code .alpha};</li>
 * <li>LyCORIS under the same prefixes: LoHa {@code .hada_w1_a/_b}, {@code .hada_w2_a/_b}
 *     (optional {@code .hada_t1/_t2}), LoKr {@code .lokr_w1} or {@code .lokr_w1_a/_b},
 *     {@code .lokr_w2} or {@code .lokr_w2_a/_b} (optional {@code .lokr_t2}), full {@code .diff};</li>
 * <li>diffusers / PEFT: {@code unet.…}, {@code text_encoder.…}, {@code text_encoder_2.…} with
 *     {@code .lora_A.weight} (down) and {@code .lora_B.weight} (up), also with {@code .default}
 *     before {@code .weight}, and diffusers' older {@code .lora.down.weight} / {@code .lora.up.weight}.</li>
 * </ul>
 *
 * <p>Scale of a module, as the trainers define it: kohya and LyCORIS use {@code alpha / rank},
 * with a missing or zero alpha meaning alpha = rank (kohya's {@code networks/lora.py}, LyCORIS'
 * modules); LoKr with neither factor split has scale 1 (LyCORIS' {@code LokrModule}). diffusers /
 * PEFT files carry no alpha tensors: the alpha is the header metadata's
 * {@code lora_adapter_metadata} (diffusers ≥ 0.34: PEFT's {@code LoraConfig} as JSON, its keys
 * prefixed by the component when a pipeline saved it), {@code alpha_pattern} / {@code rank_pattern}
 * resolved as PEFT's {@code get_pattern_key} does and {@code use_rslora} giving
 * {@code alpha / √r}; without metadata alpha = rank (scale 1), as diffusers loads them.
 *
 * <p>The file stays open (mapped) until {@link #close()}: the factors are read when a merge
 * computes the deltas.
 */
public final class AdapterFile implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdapterFile.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String METADATA_KEY = "lora_adapter_metadata";

    /** Key suffixes, longest first where one ends another. */
    private static final String[] SUFFIXES = {
            ".lora_down.weight", ".lora_up.weight", ".lora_mid.weight",
            ".lora_A.default.weight", ".lora_B.default.weight", ".lora_A.weight", ".lora_B.weight",
            ".lora.down.weight", ".lora.up.weight",
            ".hada_w1_a", ".hada_w1_b", ".hada_w2_a", ".hada_w2_b", ".hada_t1", ".hada_t2",
            ".lokr_w1_a", ".lokr_w1_b", ".lokr_w2_a", ".lokr_w2_b", ".lokr_w1", ".lokr_w2", ".lokr_t1", ".lokr_t2",
            ".diff_b", ".diff", ".alpha", ".dora_scale", ".lora_magnitude_vector", ".scale",
            ".lora_A.bias", ".lora_B.bias",
    };

    private final Path file;
    private final SafeTensors tensors;
    private final List<AdapterModule> modules;

    private AdapterFile(Path file, SafeTensors tensors, List<AdapterModule> modules) {
        this.file = file;
        this.tensors = tensors;
        this.modules = modules;
    }

    /**
     * Reads and checks an adapter file: every key belongs to a module of a known layout, every
     * module has its factors with fitting shapes.
     *
     * @throws SdxlException naming the file (and the key) when it is not a valid adapter file or
     *                       holds no adapter module
     */
    public static AdapterFile load(Path file) {
        SafeTensors st = SafeTensors.open(file);
        try {
            List<AdapterModule> modules = parse(st);
            if (modules.isEmpty()) {
                throw new SdxlException(file + ": no adapter keys (expected kohya lora_unet_/lora_te1_/lora_te2_,"
                        + " LyCORIS or diffusers unet./text_encoder./text_encoder_2. keys)");
            }
            return new AdapterFile(file, st, List.copyOf(modules));
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    /** The file. */
    public Path file() {
        return file;
    }

    /** The components the file changes. */
    public Set<Component> components() {
        Set<Component> out = EnumSet.noneOf(Component.class);
        for (AdapterModule m : modules) {
            out.add(m.component());
        }
        return out;
    }

    /** How many modules the file changes. */
    public int moduleCount() {
        return modules.size();
    }

    List<AdapterModule> modules() {
        return modules;
    }

    List<AdapterModule> modules(Component component) {
        return modules.stream().filter(m -> m.component() == component).toList();
    }

    @Override
    public void close() {
        tensors.close();
    }

    @Override
    public String toString() {
        return "AdapterFile[" + file + ", " + modules.size() + " modules]";
    }

    // ---- parsing

    private record Stem(Component component, String name, boolean kohya) {
    }

    private static List<AdapterModule> parse(SafeTensors st) {
        Path file = st.file();
        Map<String, Map<String, String>> groups = new LinkedHashMap<>();
        for (String key : st.keys()) {
            String suffix = null;
            for (String s : SUFFIXES) {
                if (key.endsWith(s)) {
                    suffix = s;
                    break;
                }
            }
            if (suffix == null) {
                throw new SdxlException(file + ": key " + key + " is not a LoRA / LyCORIS tensor (no known suffix such"
                        + " as .lora_down.weight, .lora_A.weight, .hada_w1_a, .lokr_w1, .diff)");
            }
            String stem = key.substring(0, key.length() - suffix.length());
            groups.computeIfAbsent(stem, k -> new LinkedHashMap<>()).put(normalize(suffix), key);
        }
        PeftConfig peft = PeftConfig.read(st);
        List<AdapterModule> modules = new ArrayList<>();
        for (Map.Entry<String, Map<String, String>> g : groups.entrySet()) {
            Stem stem = stem(file, g.getKey(), g.getValue().values().iterator().next());
            modules.add(new AdapterModule(stem.component(), g.getKey(), stem.name(), stem.kohya(),
                    delta(st, g.getKey(), stem, g.getValue(), peft)));
        }
        return modules;
    }

    /** Maps the PEFT and old-diffusers spellings onto the kohya ones. */
    private static String normalize(String suffix) {
        return switch (suffix) {
            case ".lora_A.weight", ".lora_A.default.weight", ".lora.down.weight" -> ".lora_down.weight";
            case ".lora_B.weight", ".lora_B.default.weight", ".lora.up.weight" -> ".lora_up.weight";
            default -> suffix;
        };
    }

    private static Stem stem(Path file, String stem, String anyKey) {
        String[][] kohya = {
                {"lora_unet_", "UNET"}, {"lora_te1_", "TEXT_ENCODER"}, {"lora_te2_", "TEXT_ENCODER_2"},
                {"lora_te_", "TEXT_ENCODER"},
        };
        for (String[] k : kohya) {
            if (stem.startsWith(k[0])) {
                return new Stem(Component.valueOf(k[1]), stem.substring(k[0].length()), true);
            }
        }
        String[][] diffusers = {
                {"unet.", "UNET"}, {"text_encoder_2.", "TEXT_ENCODER_2"}, {"text_encoder.", "TEXT_ENCODER"},
        };
        for (String[] d : diffusers) {
            if (stem.startsWith(d[0])) {
                return new Stem(Component.valueOf(d[1]), stem.substring(d[0].length()), false);
            }
        }
        throw new SdxlException(file + ": key " + anyKey + " names no SDXL component (expected the prefix lora_unet_,"
                + " lora_te1_, lora_te2_, unet., text_encoder. or text_encoder_2.)");
    }

    private static Delta delta(SafeTensors st, String stem, Stem s, Map<String, String> parts, PeftConfig peft) {
        Path file = st.file();
        for (String unsupported : new String[] {".dora_scale", ".lora_magnitude_vector"}) {
            if (parts.containsKey(unsupported)) {
                throw new SdxlException(file + ": key " + parts.get(unsupported)
                        + ": DoRA (weight-decomposed) adapters are not supported");
            }
        }
        for (String unsupported : new String[] {".diff_b", ".lora_A.bias", ".lora_B.bias", ".scale", ".lokr_t1"}) {
            if (parts.containsKey(unsupported)) {
                throw new SdxlException(file + ": key " + parts.get(unsupported) + " is not supported"
                        + " (bias deltas, per-module scale tensors and lokr_t1 are not merged)");
            }
        }
        Float alpha = parts.containsKey(".alpha") ? st.scalar(parts.get(".alpha")) : null;
        if (parts.containsKey(".lora_down.weight") || parts.containsKey(".lora_up.weight")) {
            only(file, stem, parts, ".lora_down.weight", ".lora_up.weight", ".lora_mid.weight", ".alpha");
            return lora(st, stem, s, parts, alpha, peft);
        }
        if (parts.keySet().stream().anyMatch(k -> k.startsWith(".hada_"))) {
            only(file, stem, parts, ".hada_w1_a", ".hada_w1_b", ".hada_w2_a", ".hada_w2_b", ".hada_t1", ".hada_t2",
                    ".alpha");
            return loha(st, stem, parts, alpha);
        }
        if (parts.keySet().stream().anyMatch(k -> k.startsWith(".lokr_"))) {
            only(file, stem, parts, ".lokr_w1", ".lokr_w1_a", ".lokr_w1_b", ".lokr_w2", ".lokr_w2_a", ".lokr_w2_b",
                    ".lokr_t2", ".alpha");
            return lokr(st, stem, parts, alpha);
        }
        if (parts.containsKey(".diff")) {
            only(file, stem, parts, ".diff", ".alpha");
            String key = parts.get(".diff");
            long[] shape = st.entry(key).shape();
            if (shape.length < 2) {
                throw new SdxlException(file + ": key " + key + " is " + st.entry(key).describe()
                        + ", not a weight delta [out, in(, kh, kw)]");
            }
            return new Delta.Full(st, key, shape);
        }
        throw new SdxlException(file + ": key " + parts.values().iterator().next() + " has no weights of its module"
                + " (an alpha without lora_down / lora_up, hada_ or lokr_ tensors)");
    }

    private static void only(Path file, String stem, Map<String, String> parts, String... allowed) {
        List<String> ok = Arrays.asList(allowed);
        for (Map.Entry<String, String> e : parts.entrySet()) {
            if (!ok.contains(e.getKey())) {
                throw new SdxlException(file + ": key " + e.getValue() + " mixes adapter types in module " + stem);
            }
        }
    }

    private static String need(Path file, String stem, Map<String, String> parts, String suffix) {
        String key = parts.get(suffix);
        if (key == null) {
            throw new SdxlException(file + ": module " + stem + " has no " + stem + suffix);
        }
        return key;
    }

    private static SdxlException shapeError(Path file, String key, String what) {
        return new SdxlException(file + ": key " + key + ": " + what);
    }

    private static Delta lora(SafeTensors st, String stem, Stem s, Map<String, String> parts, Float alpha,
                              PeftConfig peft) {
        Path file = st.file();
        String up = need(file, stem, parts, ".lora_up.weight");
        String down = need(file, stem, parts, ".lora_down.weight");
        String mid = parts.get(".lora_mid.weight");
        SafeTensors.Entry u = st.entry(up);
        SafeTensors.Entry d = st.entry(down);
        if (u.rank() < 2 || d.rank() < 2) {
            throw shapeError(file, u.rank() < 2 ? up : down, "is " + (u.rank() < 2 ? u : d).describe()
                    + "; LoRA factors are [out, r(, 1, 1)] and [r, in(, kh, kw)]");
        }
        int rank = Math.toIntExact(d.dim(0));
        if (u.dim(1) != rank) {
            throw shapeError(file, up, "is " + u.describe() + " but " + down + " is " + d.describe()
                    + ": the ranks differ");
        }
        for (int i = 2; i < u.rank(); i++) {
            if (u.dim(i) != 1) {
                throw shapeError(file, up, "is " + u.describe() + "; an up factor's kernel is 1×1");
            }
        }
        long[] shape;
        if (mid == null) {
            shape = new long[d.rank()];
            shape[0] = u.dim(0);
            System.arraycopy(d.shape(), 1, shape, 1, d.rank() - 1);
        } else {
            SafeTensors.Entry m = st.entry(mid);
            if (m.rank() < 3 || m.dim(0) != rank || m.dim(1) != rank || Delta.squeeze(d.shape()).length != 2) {
                throw shapeError(file, mid, "is " + m.describe() + " with down " + d.describe()
                        + "; a LoCon Tucker core is [r, r, kh, kw] with down [r, in, 1, 1]");
            }
            shape = new long[m.rank()];
            shape[0] = u.dim(0);
            shape[1] = d.dim(1);
            System.arraycopy(m.shape(), 2, shape, 2, m.rank() - 2);
        }
        float scale;
        if (s.kohya() || alpha != null) {
            // kohya networks/lora.py: alpha None or 0 means alpha = lora_dim.
            scale = alpha == null || alpha == 0 ? 1f : alpha / rank;
        } else {
            scale = peft.scale(s.component(), s.name(), rank, file, up);
        }
        return new Delta.Lora(st, up, down, mid, shape, rank, scale);
    }

    private static Delta loha(SafeTensors st, String stem, Map<String, String> parts, Float alpha) {
        Path file = st.file();
        String w1a = need(file, stem, parts, ".hada_w1_a");
        String w1b = need(file, stem, parts, ".hada_w1_b");
        String w2a = need(file, stem, parts, ".hada_w2_a");
        String w2b = need(file, stem, parts, ".hada_w2_b");
        String t1 = parts.get(".hada_t1");
        String t2 = parts.get(".hada_t2");
        if ((t1 == null) != (t2 == null)) {
            throw shapeError(file, t1 != null ? t1 : t2, "a LoHa Tucker module needs both hada_t1 and hada_t2");
        }
        long[] a1 = st.entry(w1a).shape();
        long[] b1 = st.entry(w1b).shape();
        long[] a2 = st.entry(w2a).shape();
        long[] b2 = st.entry(w2b).shape();
        for (String k : new String[] {w1a, w1b, w2a, w2b}) {
            if (st.entry(k).rank() < 2) {
                throw shapeError(file, k, "is " + st.entry(k).describe() + ", not a matrix");
            }
        }
        long[] shape;
        int rank;
        if (t1 == null) {
            // w_a [out, r], w_b [r, in·kh·kw] (or [r, in, kh, kw]).
            rank = Math.toIntExact(b1[0]);
            if (a1.length != 2 || a2.length != 2 || a1[1] != rank || a2[1] != b2[0] || a1[0] != a2[0]
                    || Delta.count(b1) / b1[0] != Delta.count(b2) / b2[0]) {
                throw shapeError(file, w1a, "LoHa factors do not fit: w1_a " + Arrays.toString(a1) + ", w1_b "
                        + Arrays.toString(b1) + ", w2_a " + Arrays.toString(a2) + ", w2_b " + Arrays.toString(b2));
            }
            shape = new long[b1.length];
            shape[0] = a1[0];
            System.arraycopy(b1, 1, shape, 1, b1.length - 1);
        } else {
            // Tucker: t [r, r, kh, kw], w_a [r, out], w_b [r, in].
            long[] c1 = st.entry(t1).shape();
            long[] c2 = st.entry(t2).shape();
            rank = Math.toIntExact(c1[0]);
            if (c1.length < 3 || !Arrays.equals(c1, c2) || a1[0] != c1[0] || b1[0] != c1[1] || a2[0] != c2[0]
                    || b2[0] != c2[1] || a1[1] != a2[1] || b1[1] != b2[1] || a1.length != 2 || b1.length != 2) {
                throw shapeError(file, t1, "LoHa Tucker factors do not fit: t1 " + Arrays.toString(c1) + ", w1_a "
                        + Arrays.toString(a1) + ", w1_b " + Arrays.toString(b1));
            }
            shape = new long[c1.length];
            shape[0] = a1[1];
            shape[1] = b1[1];
            System.arraycopy(c1, 2, shape, 2, c1.length - 2);
        }
        // LyCORIS LohaModule: scale = alpha / lora_dim, alpha None or 0 meaning lora_dim.
        float scale = alpha == null || alpha == 0 ? 1f : alpha / rank;
        return new Delta.Loha(st, w1a, w1b, w2a, w2b, t1, t2, shape, scale);
    }

    private static Delta lokr(SafeTensors st, String stem, Map<String, String> parts, Float alpha) {
        Path file = st.file();
        String w1 = parts.get(".lokr_w1");
        String w1a = parts.get(".lokr_w1_a");
        String w1b = parts.get(".lokr_w1_b");
        String w2 = parts.get(".lokr_w2");
        String w2a = parts.get(".lokr_w2_a");
        String w2b = parts.get(".lokr_w2_b");
        String t2 = parts.get(".lokr_t2");
        if (w1 == null && (w1a == null || w1b == null)) {
            throw new SdxlException(file + ": module " + stem + " has neither lokr_w1 nor lokr_w1_a and lokr_w1_b");
        }
        if (w2 == null && (w2a == null || w2b == null)) {
            throw new SdxlException(file + ": module " + stem + " has neither lokr_w2 nor lokr_w2_a and lokr_w2_b");
        }
        long a;
        long c;
        Integer rank = null;
        if (w1 != null) {
            long[] s = st.entry(w1).shape();
            if (s.length != 2) {
                throw shapeError(file, w1, "is " + st.entry(w1).describe() + ", not a matrix");
            }
            a = s[0];
            c = s[1];
        } else {
            long[] sa = st.entry(w1a).shape();
            long[] sb = st.entry(w1b).shape();
            if (sa.length != 2 || sb.length != 2 || sa[1] != sb[0]) {
                throw shapeError(file, w1a, "LoKr w1 factors do not fit: " + Arrays.toString(sa) + " @ "
                        + Arrays.toString(sb));
            }
            a = sa[0];
            c = sb[1];
            rank = Math.toIntExact(sa[1]);
        }
        long[] second;
        if (w2 != null) {
            second = st.entry(w2).shape();
            if (second.length < 2) {
                throw shapeError(file, w2, "is " + st.entry(w2).describe() + ", not a matrix");
            }
        } else if (t2 == null) {
            long[] sa = st.entry(w2a).shape();
            long[] sb = st.entry(w2b).shape();
            if (sa.length != 2 || sb.length < 2 || sa[1] != sb[0]) {
                throw shapeError(file, w2a, "LoKr w2 factors do not fit: " + Arrays.toString(sa) + " @ "
                        + Arrays.toString(sb));
            }
            second = new long[sb.length];
            second[0] = sa[0];
            System.arraycopy(sb, 1, second, 1, sb.length - 1);
            if (rank == null) {
                rank = Math.toIntExact(sa[1]);
            }
        } else {
            long[] ts = st.entry(t2).shape();
            long[] sa = st.entry(w2a).shape();
            long[] sb = st.entry(w2b).shape();
            if (ts.length < 3 || sa.length != 2 || sb.length != 2 || sa[0] != ts[0] || sb[0] != ts[1]) {
                throw shapeError(file, t2, "LoKr Tucker factors do not fit: t2 " + Arrays.toString(ts) + ", w2_a "
                        + Arrays.toString(sa) + ", w2_b " + Arrays.toString(sb));
            }
            second = new long[ts.length];
            second[0] = sa[1];
            second[1] = sb[1];
            System.arraycopy(ts, 2, second, 2, ts.length - 2);
            if (rank == null) {
                // LyCORIS trains the Tucker form with lora_dim = t2's rank.
                rank = Math.toIntExact(ts[0]);
            }
        }
        long[] shape = new long[second.length];
        shape[0] = a * second[0];
        shape[1] = c * second[1];
        System.arraycopy(second, 2, shape, 2, second.length - 2);
        // LyCORIS LokrModule: lora_dim from the split factor (w1_a first); alpha None or 0 means
        // lora_dim; both factors whole means scale 1.
        float scale = rank == null || alpha == null || alpha == 0 ? 1f : alpha / rank;
        return new Delta.Lokr(st, w1, w1a, w1b, w2, w2a, w2b, t2, shape, scale);
    }

    /**
     * The LoRA configuration diffusers ≥ 0.34 stores as {@code lora_adapter_metadata}: PEFT's
     * {@code LoraConfig.to_dict()} as JSON, the keys prefixed {@code unet.}, {@code text_encoder.},
     * {@code text_encoder_2.} when the pipeline's {@code save_lora_weights} wrote it.
     */
    private record PeftConfig(Map<String, JsonNode> byComponent, JsonNode plain) {

        static PeftConfig read(SafeTensors st) {
            String raw = st.metadata().get(METADATA_KEY);
            if (raw == null) {
                return new PeftConfig(Map.of(), null);
            }
            JsonNode root;
            try {
                root = JSON.readTree(raw);
            } catch (JsonProcessingException e) {
                throw new SdxlException(st.file() + ": metadata " + METADATA_KEY + " is not JSON: "
                        + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw new SdxlException(st.file() + ": metadata " + METADATA_KEY + " is not a JSON object");
            }
            Map<String, JsonNode> byComponent = new TreeMap<>();
            boolean prefixed = false;
            for (Component c : new Component[] {Component.UNET, Component.TEXT_ENCODER, Component.TEXT_ENCODER_2}) {
                var node = JSON.createObjectNode();
                String prefix = c.folder() + ".";
                for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getKey().startsWith(prefix) && e.getKey().indexOf('.', prefix.length()) < 0) {
                        node.set(e.getKey().substring(prefix.length()), e.getValue());
                        prefixed = true;
                    }
                }
                if (!node.isEmpty()) {
                    byComponent.put(c.name(), node);
                }
            }
            return new PeftConfig(byComponent, prefixed ? null : root);
        }

        /**
         * PEFT's scaling of one module: {@code lora_alpha / r} (or {@code / √r} with
         * {@code use_rslora}), each from the pattern that matches the module, if any.
         */
        float scale(Component component, String module, int tensorRank, Path file, String key) {
            JsonNode config = byComponent.getOrDefault(component.name(), plain);
            if (config == null) {
                return 1f; // no metadata: alpha = rank, as diffusers loads such files
            }
            double r = config.path("r").isNumber() ? config.path("r").asDouble() : tensorRank;
            double alpha = config.path("lora_alpha").isNumber() ? config.path("lora_alpha").asDouble() : r;
            JsonNode rankPattern = config.path("rank_pattern");
            JsonNode alphaPattern = config.path("alpha_pattern");
            String rankKey = patternKey(rankPattern, module, file);
            if (rankKey != null) {
                r = rankPattern.path(rankKey).asDouble(r);
            }
            String alphaKey = patternKey(alphaPattern, module, file);
            if (alphaKey != null) {
                alpha = alphaPattern.path(alphaKey).asDouble(alpha);
            }
            if (Math.round(r) != tensorRank) {
                throw new SdxlException(file + ": key " + key + " has rank " + tensorRank + " but "
                        + METADATA_KEY + " says r = " + r);
            }
            boolean rs = config.path("use_rslora").asBoolean(false);
            double scale = rs ? alpha / Math.sqrt(r) : alpha / r;
            LOG.debug("{}: {} scale {} (alpha {}, r {})", file, key, scale, alpha, r);
            return (float) scale;
        }

        /** PEFT's get_pattern_key: the first pattern p with {@code re.match(rf"(.*\.)?({p})$", module)}. */
        private static String patternKey(JsonNode patterns, String module, Path file) {
            if (patterns == null || !patterns.isObject()) {
                return null;
            }
            for (Iterator<String> it = patterns.fieldNames(); it.hasNext(); ) {
                String p = it.next();
                try {
                    if (Pattern.compile("(.*\\.)?(" + p + ")$").matcher(module).matches()) {
                        return p;
                    }
                } catch (PatternSyntaxException e) {
                    throw new SdxlException(file + ": " + METADATA_KEY + " pattern '" + p + "' is not a regex");
                }
            }
            return null;
        }
    }
}
