// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.SdxlException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CLIP byte-level BPE tokenizer, giving the ids of transformers' slow {@code CLIPTokenizer}
 * (without {@code ftfy}, as the diffusers SDXL pipelines run it): control characters removed,
 * whitespace collapsed, CJK ideographs spaced, NFC, lower case, CLIP's split regex, byte-level BPE
 * from {@code vocab.json} and {@code merges.txt}. Special tokens ({@code <|startoftext|>},
 * {@code <|endoftext|>} and the pad token, which is {@code !} for SDXL's second tokenizer) are
 * matched in the raw text first and never pass through BPE; so are tokens added after the
 * vocabulary ({@link #withAddedTokens}, textual inversion). Instances are immutable and
 * thread-safe.
 */
public final class ClipTokenizer {

    /** CLIP's pre-tokenization pattern (transformers' {@code CLIPTokenizer.pat}, case-insensitive). */
    private static final Pattern SPLIT = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final String[] BYTE_TO_UNICODE = byteToUnicode();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Integer> vocab;
    private final Map<String, Integer> mergeRanks;
    private final List<String> specialTokens;
    /** Tokens added after the vocabulary (textual inversion), with their ids, in the order added. */
    private final Map<String, Integer> addedTokens;
    /** Special and added tokens, longest first: what splits the raw text before BPE. */
    private final List<String> splitTokens;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int maxLength;
    private final Map<String, String[]> cache;

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> mergeRanks, String bos, String eos,
                          String pad, int maxLength, Path dir) {
        this.vocab = vocab;
        this.mergeRanks = mergeRanks;
        this.bosId = id(bos, dir);
        this.eosId = id(eos, dir);
        this.padId = id(pad, dir);
        this.maxLength = maxLength;
        // Longest first, so that a trie-like scan prefers "<|endoftext|>" over a shorter token.
        this.specialTokens = java.util.stream.Stream.of(bos, eos, pad).distinct()
                .sorted((a, b) -> b.length() - a.length()).toList();
        this.addedTokens = Map.of();
        this.splitTokens = specialTokens;
        this.cache = new ConcurrentHashMap<>();
    }

    /** A copy of {@code base} with {@code added} (token to id, in order) split out of the text as tokens. */
    private ClipTokenizer(ClipTokenizer base, Map<String, Integer> added) {
        this.vocab = base.vocab;
        this.mergeRanks = base.mergeRanks;
        this.bosId = base.bosId;
        this.eosId = base.eosId;
        this.padId = base.padId;
        this.maxLength = base.maxLength;
        this.specialTokens = base.specialTokens;
        this.addedTokens = Collections.unmodifiableMap(new LinkedHashMap<>(added));
        this.splitTokens = java.util.stream.Stream.concat(specialTokens.stream(), added.keySet().stream()).distinct()
                .sorted((a, b) -> b.length() - a.length()).toList();
        // BPE of ordinary text does not depend on the added tokens: the cache is shared.
        this.cache = base.cache;
    }

    /**
     * Loads a tokenizer folder ({@code vocab.json}, {@code merges.txt}, and the special tokens from
     * {@code special_tokens_map.json} or {@code tokenizer_config.json}).
     *
     * @throws SdxlException naming the file that is missing or does not parse
     */
    public static ClipTokenizer load(Path dir) {
        Path vocabFile = dir.resolve("vocab.json");
        Path mergesFile = dir.resolve("merges.txt");
        Map<String, Integer> vocab = readVocab(vocabFile);
        Map<String, Integer> merges = readMerges(mergesFile);
        JsonNode specials = readOptionalJson(dir.resolve("special_tokens_map.json"));
        JsonNode config = readOptionalJson(dir.resolve("tokenizer_config.json"));
        String bos = special(specials, config, "bos_token", "<|startoftext|>");
        String eos = special(specials, config, "eos_token", "<|endoftext|>");
        String pad = special(specials, config, "pad_token", eos);
        int maxLength = config != null && config.path("model_max_length").canConvertToInt()
                && config.path("model_max_length").asInt() <= 4096 ? config.path("model_max_length").asInt() : 77;
        return new ClipTokenizer(vocab, merges, bos, eos, pad, maxLength, dir);
    }

    /**
     * This tokenizer with {@code tokens} added after its vocabulary and any tokens added before,
     * as transformers' {@code add_tokens} adds them for diffusers' {@code load_textual_inversion}:
     * each gets the next id ({@link #size()} onwards, in the order given) and is split out of the
     * raw text before normalisation and BPE (case-sensitively, the longest match first), like the
     * special tokens. This instance is unchanged.
     *
     * @throws IllegalArgumentException naming the token when it is empty, repeated, already in the
     *                                  vocabulary or already added
     */
    public ClipTokenizer withAddedTokens(List<String> tokens) {
        Map<String, Integer> added = new LinkedHashMap<>(addedTokens);
        int next = size();
        for (String t : tokens) {
            if (t == null || t.isEmpty()) {
                throw new IllegalArgumentException("tokens: an added token is empty");
            }
            if (vocab.containsKey(t) || added.containsKey(t)) {
                throw new IllegalArgumentException("tokens: '" + t + "' is already in the tokenizer's vocabulary");
            }
            added.put(t, next++);
        }
        return new ClipTokenizer(this, added);
    }

    /** The added tokens and their ids, in the order they were added; empty for a loaded tokenizer. */
    public Map<String, Integer> addedTokens() {
        return addedTokens;
    }

    /** The number of ids: the vocabulary and the added tokens (transformers' {@code len(tokenizer)}). */
    public int size() {
        return vocab.size() + addedTokens.size();
    }

    /** The added tokens that {@code text} contains as tokens (as the split finds them), each once, in order. */
    public List<String> addedTokensIn(String text) {
        if (addedTokens.isEmpty()) {
            return List.of();
        }
        LinkedHashSet<String> found = new LinkedHashSet<>();
        for (String piece : splitOnSpecialTokens(text)) {
            if (addedTokens.containsKey(piece)) {
                found.add(piece);
            }
        }
        return List.copyOf(found);
    }

    /** The sequence length the text encoders take ({@code model_max_length}, 77 for CLIP). */
    public int maxLength() {
        return maxLength;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    /**
     * The ids of {@code text} without truncation or padding: BOS, the text's tokens, EOS
     * (transformers' {@code tokenizer(text).input_ids}).
     */
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        ids.add(bosId);
        for (String piece : splitOnSpecialTokens(text)) {
            Integer special = specialTokens.contains(piece) ? vocab.get(piece) : addedTokens.get(piece);
            if (special != null) {
                ids.add(special);
            } else {
                tokenizeOrdinary(piece, ids);
            }
        }
        ids.add(eosId);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The ids as the diffusers SDXL pipelines request them ({@code padding="max_length",
     * truncation=True}): BOS, at most {@code maxLength - 2} tokens, EOS, then the pad id up to
     * {@link #maxLength()}.
     */
    public long[] encodePadded(String text) {
        int[] ids = encode(text);
        long[] out = new long[maxLength];
        Arrays.fill(out, padId);
        int body = Math.min(ids.length - 2, maxLength - 2);
        out[0] = bosId;
        for (int i = 0; i < body; i++) {
            out[1 + i] = ids[1 + i];
        }
        out[1 + body] = eosId;
        return out;
    }

    /** The ids of {@code text} without BOS and EOS (transformers' {@code add_special_tokens=False}). */
    public int[] tokens(String text) {
        int[] ids = encode(text);
        return Arrays.copyOfRange(ids, 1, ids.length - 1);
    }

    /** The id of {@code ,</w>}, where AUTOMATIC1111's chunking prefers to cut; -1 if absent. */
    public int commaId() {
        return vocab.getOrDefault(",</w>", -1);
    }

    /** The token strings of a piece of text without special tokens (for tests and debugging). */
    public List<String> bpeTokens(String text) {
        List<String> out = new ArrayList<>();
        for (String word : preTokenize(text)) {
            out.addAll(Arrays.asList(bpe(word)));
        }
        return out;
    }

    // transformers' PreTrainedTokenizer.tokenize: added tokens (the special tokens and those of
    // withAddedTokens, none of them stripping whitespace around it) split the raw text before any
    // normalisation, the leftmost and then longest match first (its tokens_trie.split).
    private List<String> splitOnSpecialTokens(String text) {
        List<String> pieces = new ArrayList<>();
        int start = 0;
        int i = 0;
        outer:
        while (i < text.length()) {
            for (String special : splitTokens) {
                if (text.startsWith(special, i)) {
                    if (i > start) {
                        pieces.add(text.substring(start, i));
                    }
                    pieces.add(special);
                    i += special.length();
                    start = i;
                    continue outer;
                }
            }
            i++;
        }
        if (start < text.length()) {
            pieces.add(text.substring(start));
        }
        return pieces;
    }

    private void tokenizeOrdinary(String text, List<Integer> ids) {
        for (String word : preTokenize(text)) {
            for (String token : bpe(word)) {
                Integer id = vocab.get(token);
                // Byte-level BPE covers every byte, so a miss means a vocabulary without byte tokens.
                ids.add(id != null ? id : vocab.getOrDefault("<|endoftext|>", eosId));
            }
        }
    }

    /** Normalises like transformers' BasicTokenizer(strip_accents=False, do_split_on_punc=False). */
    private static List<String> preTokenize(String text) {
        StringBuilder clean = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                continue;
            }
            if (isWhitespace(cp)) {
                clean.append(' ');
            } else if (isCjk(cp)) {
                clean.append(' ').appendCodePoint(cp).append(' ');
            } else {
                clean.appendCodePoint(cp);
            }
        }
        String normalized = Normalizer.normalize(clean, Normalizer.Form.NFC);
        StringBuilder joined = new StringBuilder(normalized.length());
        for (String word : splitWhitespace(normalized)) {
            if (!joined.isEmpty()) {
                joined.append(' ');
            }
            joined.append(word.toLowerCase(Locale.ROOT));
        }
        List<String> words = new ArrayList<>();
        Matcher m = SPLIT.matcher(joined);
        while (m.find()) {
            byte[] utf8 = m.group().getBytes(StandardCharsets.UTF_8);
            StringBuilder mapped = new StringBuilder(utf8.length);
            for (byte b : utf8) {
                mapped.append(BYTE_TO_UNICODE[b & 0xFF]);
            }
            words.add(mapped.toString());
        }
        return words;
    }

    private String[] bpe(String word) {
        String[] cached = cache.get(word);
        if (cached != null) {
            return cached;
        }
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            parts.add(new String(Character.toChars(cp)));
            i += Character.charCount(cp);
        }
        parts.set(parts.size() - 1, parts.get(parts.size() - 1) + "</w>");
        while (parts.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null;
            String bestSecond = null;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer rank = mergeRanks.get(parts.get(i) + " " + parts.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestFirst = parts.get(i);
                    bestSecond = parts.get(i + 1);
                }
            }
            if (bestFirst == null) {
                break;
            }
            // Merge every occurrence of the best pair, left to right, as CLIP's bpe() does.
            List<String> merged = new ArrayList<>(parts.size());
            for (int i = 0; i < parts.size(); i++) {
                if (i + 1 < parts.size() && parts.get(i).equals(bestFirst) && parts.get(i + 1).equals(bestSecond)) {
                    merged.add(bestFirst + bestSecond);
                    i++;
                } else {
                    merged.add(parts.get(i));
                }
            }
            parts = merged;
        }
        String[] result = parts.toArray(String[]::new);
        if (cache.size() < 100_000) {
            cache.put(word, result);
        }
        return result;
    }

    // Python's str.split(): runs of Unicode whitespace separate words.
    private static List<String> splitWhitespace(String s) {
        List<String> out = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            boolean space = isPythonWhitespace(cp);
            if (space && start >= 0) {
                out.add(s.substring(start, i));
                start = -1;
            } else if (!space && start < 0) {
                start = i;
            }
            i += Character.charCount(cp);
        }
        if (start >= 0) {
            out.add(s.substring(start));
        }
        return out;
    }

    private static boolean isPythonWhitespace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0
                || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
                || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    // BasicTokenizer._is_whitespace: space, \t, \n, \r, or Unicode category Zs.
    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    // BasicTokenizer._is_control: categories C* except \t, \n, \r.
    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    // BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks.
    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards.
    private static String[] byteToUnicode() {
        String[] table = new String[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + next++));
        }
        return table;
    }

    private int id(String token, Path dir) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new SdxlException(dir.resolve("vocab.json") + ": special token " + token + " is not in the vocabulary");
        }
        return id;
    }

    private static Map<String, Integer> readVocab(Path file) {
        JsonNode root = readJson(file);
        if (!root.isObject() || root.isEmpty()) {
            throw new SdxlException(file + ": expected a JSON object of token to id");
        }
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt()) {
                throw new SdxlException(file + ": id of token " + e.getKey() + " is not an integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        return Map.copyOf(vocab);
    }

    private static Map<String, Integer> readMerges(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new SdxlException(file + ": file not found");
        } catch (IOException e) {
            throw new SdxlException(file + ": cannot read: " + e.getMessage(), e);
        }
        Map<String, Integer> ranks = new HashMap<>(lines.size() * 2);
        int rank = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            String[] pair = line.split(" ");
            if (pair.length != 2) {
                throw new SdxlException(file + ": line " + (i + 1) + " is not a merge pair: " + line);
            }
            ranks.putIfAbsent(pair[0] + " " + pair[1], rank++);
        }
        if (ranks.isEmpty()) {
            throw new SdxlException(file + ": no merges");
        }
        return Map.copyOf(ranks);
    }

    private static JsonNode readOptionalJson(Path file) {
        return Files.exists(file) ? readJson(file) : null;
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new SdxlException(file + ": invalid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            if (!Files.exists(file)) {
                throw new SdxlException(file + ": file not found");
            }
            throw new SdxlException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static String special(JsonNode specials, JsonNode config, String key, String fallback) {
        for (JsonNode node : new JsonNode[] {specials, config}) {
            if (node == null) {
                continue;
            }
            JsonNode value = node.get(key);
            if (value != null && value.isTextual()) {
                return value.asText();
            }
            if (value != null && value.isObject() && value.path("content").isTextual()) {
                return value.path("content").asText(); // AddedToken serialised as an object
            }
        }
        return fallback;
    }
}
