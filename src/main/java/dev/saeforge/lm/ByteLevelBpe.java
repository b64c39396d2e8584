package dev.saeforge.lm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte-level BPE tokenizer laid out like Qwen3's {@code tokenizer.json} (reference/saelens-qwen3.md
 * §6.4): NFC, Qwen's pre-tokenizer regex, GPT-2's byte-to-unicode alphabet as the first 256 ids,
 * merges learned from a text, then the added special tokens. Used for tiny test models.
 */
public final class ByteLevelBpe {
    /** Qwen2/Qwen3's pre-tokenizer split pattern. */
    static final String SPLIT_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    public static final List<String> SPECIAL_TOKENS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Map<String, Integer> vocab;
    private final List<String> merges;

    private ByteLevelBpe(Map<String, Integer> vocab, List<String> merges) {
        this.vocab = vocab;
        this.merges = merges;
    }

    /** GPT-2's reversible map from bytes to printable characters, in its vocabulary order. */
    static char[] byteToUnicode() {
        List<Integer> bytes = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bytes.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bytes.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bytes.add(b);
        }
        char[] map = new char[256];
        for (int b : bytes) {
            map[b] = (char) b;
        }
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            if (!bytes.contains(b)) {
                map[b] = (char) (256 + extra++);
            }
        }
        return map;
    }

    /** The 256 byte symbols in GPT-2's id order: printable ranges first, then the remapped bytes. */
    private static List<String> byteSymbols(char[] map) {
        List<String> symbols = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            if (map[b] == b) {
                symbols.add(String.valueOf(map[b]));
            }
        }
        for (int b = 0; b < 256; b++) {
            if (map[b] != b) {
                symbols.add(String.valueOf(map[b]));
            }
        }
        return symbols;
    }

    /**
     * Learns up to {@code mergeCount} merges from {@code text}: each step merges the most frequent
     * adjacent pair (ties broken by the pair's text, so training is deterministic).
     */
    public static ByteLevelBpe train(String text, int mergeCount) {
        char[] map = byteToUnicode();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String symbol : byteSymbols(map)) {
            vocab.put(symbol, vocab.size());
        }
        Map<List<String>, Integer> words = new HashMap<>();
        Matcher matcher = Pattern.compile(SPLIT_PATTERN).matcher(text);
        while (matcher.find()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : matcher.group().getBytes(StandardCharsets.UTF_8)) {
                symbols.add(String.valueOf(map[b & 0xff]));
            }
            words.merge(symbols, 1, Integer::sum);
        }
        List<String> merges = new ArrayList<>();
        while (merges.size() < mergeCount) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (Map.Entry<List<String>, Integer> word : words.entrySet()) {
                List<String> s = word.getKey();
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairCounts.merge(s.get(i) + " " + s.get(i + 1), word.getValue(), Integer::sum);
                }
            }
            String best = null;
            for (Map.Entry<String, Integer> pair : pairCounts.entrySet()) {
                if (best == null || pair.getValue() > pairCounts.get(best)
                        || (pair.getValue().equals(pairCounts.get(best)) && pair.getKey().compareTo(best) < 0)) {
                    best = pair.getKey();
                }
            }
            if (best == null) {
                break;
            }
            String left = best.substring(0, best.indexOf(' '));
            String right = best.substring(best.indexOf(' ') + 1);
            merges.add(best);
            vocab.putIfAbsent(left + right, vocab.size());
            Map<List<String>, Integer> merged = new HashMap<>();
            for (Map.Entry<List<String>, Integer> word : words.entrySet()) {
                merged.merge(mergePair(word.getKey(), left, right), word.getValue(), Integer::sum);
            }
            words = merged;
        }
        return new ByteLevelBpe(vocab, merges);
    }

    private static List<String> mergePair(List<String> symbols, String left, String right) {
        List<String> out = new ArrayList<>(symbols.size());
        for (int i = 0; i < symbols.size(); i++) {
            if (i + 1 < symbols.size() && symbols.get(i).equals(left) && symbols.get(i + 1).equals(right)) {
                out.add(left + right);
                i++;
            } else {
                out.add(symbols.get(i));
            }
        }
        return out;
    }

    /** Tokens before the special tokens: the 256 bytes and one per merge. */
    public int size() {
        return vocab.size();
    }

    public List<String> merges() {
        return merges;
    }

    /** The id of the first special token; the others follow it. */
    public int firstSpecialId() {
        return vocab.size();
    }

    /** The tokenizer.json the Hugging Face tokenizers library reads. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            ObjectNode token = added.addObject();
            token.put("id", firstSpecialId() + i);
            token.put("content", SPECIAL_TOKENS.get(i));
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putObject("normalizer").put("type", "NFC");
        ObjectNode preTokenizer = root.putObject("pre_tokenizer");
        preTokenizer.put("type", "Sequence");
        ArrayNode steps = preTokenizer.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", SPLIT_PATTERN);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        byteLevel(steps.addObject());
        byteLevel(root.putObject("post_processor"));
        byteLevel(root.putObject("decoder"));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        ArrayNode mergesNode = model.putArray("merges");
        merges.forEach(mergesNode::add);
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void byteLevel(ObjectNode node) {
        node.put("type", "ByteLevel");
        node.put("add_prefix_space", false);
        node.put("trim_offsets", false);
        node.put("use_regex", false);
    }
}
