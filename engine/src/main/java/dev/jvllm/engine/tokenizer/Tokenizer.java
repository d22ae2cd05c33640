package dev.jvllm.engine.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer in pure Java: added tokens, normalizer,
 * pre-tokenizer, BPE model, post-processor and decoder, matching the {@code tokenizers} library's
 * ids for the component types it supports. Anything else fails at {@link #load} with an
 * {@link IllegalArgumentException} naming the file, the JSON path and the supported values.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An entry of {@code added_tokens}: matched in the text before anything else, never split. */
    private record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip,
            boolean singleWord, boolean normalized) {
    }

    private final Bpe model;
    private final UnaryOperator<String> normalizer;
    private final PreTokenizers.PreTokenizer preTokenizer;
    private final UnaryOperator<List<Integer>> postProcessor;
    private final UnaryOperator<List<String>> decoder;
    private final Map<Integer, AddedToken> addedById = new HashMap<>();
    private final Map<String, AddedToken> addedByContent = new HashMap<>();
    private final List<AddedToken> rawAdded = new ArrayList<>(), normalizedAdded = new ArrayList<>();
    private final Map<Integer, String> idToToken = new HashMap<>();
    private final int vocabSize;
    private final Integer bos, eos;

    private Tokenizer(Cfg root, JsonNode config) {
        root.allowKeys("version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "model",
                "post_processor", "decoder");
        // truncation and padding are ignored: they apply to batched calls, and transformers' fast
        // tokenizers likewise set them per call rather than from the file.
        model = new Bpe(root.get("model"));
        normalizer = Normalizers.build(root.get("normalizer"));
        preTokenizer = PreTokenizers.build(root.get("pre_tokenizer"));
        postProcessor = PostProcessors.build(root.get("post_processor"));
        decoder = Decoders.build(root.get("decoder"));
        model.vocab.forEach((t, id) -> idToToken.put(id, t));
        if (root.has("added_tokens")) {
            for (Cfg a : root.list("added_tokens")) {
                a.allowKeys("id", "content", "single_word", "lstrip", "rstrip", "normalized", "special");
                AddedToken t = new AddedToken(a.get("id").asInt(), a.str("content"), a.bool("special", false),
                        a.bool("lstrip", false), a.bool("rstrip", false), a.bool("single_word", false),
                        a.bool("normalized", false));
                if (t.content().isEmpty()) {
                    throw a.get("content").error("empty added token");
                }
                addedById.put(t.id(), t);
                addedByContent.put(t.content(), t);
                // As in Hugging Face: normalized tokens are matched after normalization, the others on raw text.
                (t.normalized() ? normalizedAdded : rawAdded).add(t);
            }
        }
        // Longest first, so that matching at a position is leftmost-longest.
        Comparator<AddedToken> longestFirst = Comparator.comparingInt(t -> -t.content().length());
        rawAdded.sort(longestFirst);
        normalizedAdded.sort(longestFirst);
        int max = -1;
        for (int id : idToToken.keySet()) {
            max = Math.max(max, id);
        }
        for (int id : addedById.keySet()) {
            max = Math.max(max, id);
        }
        vocabSize = max + 1;
        bos = config == null ? null : configToken(config, "bos_token");
        eos = config == null ? null : configToken(config, "eos_token");
    }

    /**
     * Loads {@code dir/tokenizer.json} (and {@code dir/tokenizer_config.json} for the BOS/EOS tokens, when
     * present).
     *
     * @throws IOException when a file cannot be read
     * @throws IllegalArgumentException on malformed JSON or an unsupported component or option
     */
    public static Tokenizer load(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        JsonNode root = read(file);
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = Files.exists(configFile) ? read(configFile) : null;
        return new Tokenizer(new Cfg(root, "", file.toString()), config);
    }

    private static JsonNode read(Path file) throws IOException {
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(file + ": expected a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": malformed JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                            + ", column " + e.getLocation().getColumnNr()), e);
        }
    }

    /** {@code "bos_token": "<s>"} or {@code {"content": "<s>", ...}}, as an id when the token is known. */
    private Integer configToken(JsonNode config, String key) {
        JsonNode n = config.get(key);
        String content = n == null ? null : n.isTextual() ? n.asText() : n.isObject() && n.has("content")
                ? n.get("content").asText() : null;
        if (content == null) {
            return null;
        }
        int id = tokenId(content);
        return id < 0 ? null : id;
    }

    /** The number of ids: one more than the largest id of the vocabulary and the added tokens. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The id of a token (added tokens first), or -1. */
    public int tokenId(String token) {
        AddedToken a = addedByContent.get(token);
        if (a != null) {
            return a.id();
        }
        return model.vocab.getOrDefault(token, -1);
    }

    /** The token string of an id (in its vocabulary form, e.g. byte-level characters), or null. */
    public String token(int id) {
        AddedToken a = addedById.get(id);
        return a != null ? a.content() : idToToken.get(id);
    }

    /** The BOS id named by tokenizer_config.json, when known. */
    public OptionalInt bosId() {
        return bos == null ? OptionalInt.empty() : OptionalInt.of(bos);
    }

    /** The EOS id named by tokenizer_config.json, when known. */
    public OptionalInt eosId() {
        return eos == null ? OptionalInt.empty() : OptionalInt.of(eos);
    }

    /** Whether {@code id} is a special added token (skipped by {@code decode(ids, true)}). */
    public boolean isSpecial(int id) {
        AddedToken a = addedById.get(id);
        return a != null && a.special();
    }

    /**
     * Encodes text to ids.
     *
     * @param addSpecialTokens whether the post-processor adds its tokens (e.g. BOS)
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        List<Integer> ids = new ArrayList<>();
        splitAdded(text, 0, rawAdded, (piece, start) -> {
            String normalized = normalizer.apply(piece);
            splitAdded(normalized, start, normalizedAdded, (part, partStart) -> {
                List<PreTokenizers.Piece> words = new ArrayList<>();
                preTokenizer.apply(new PreTokenizers.Piece(part, partStart == 0), words);
                for (PreTokenizers.Piece w : words) {
                    model.tokenize(w.text(), ids);
                }
            }, ids);
        }, ids);
        List<Integer> out = addSpecialTokens ? postProcessor.apply(ids) : ids;
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private interface Segment {
        /** Handles text between added tokens; {@code start} is 0 only for text at the very beginning. */
        void accept(String text, int start);
    }

    /** Splits out the added tokens (leftmost-longest), adding their ids; the text between goes to {@code rest}. */
    private static void splitAdded(String text, int base, List<AddedToken> tokens, Segment rest, List<Integer> ids) {
        int from = 0; // start of the pending text segment
        int i = 0;
        while (i < text.length() && !tokens.isEmpty()) {
            AddedToken hit = null;
            char first = text.charAt(i);
            for (AddedToken t : tokens) {
                if (t.content().charAt(0) != first) {
                    continue; // cheap reject; most positions start no added token
                }
                if (text.startsWith(t.content(), i) && (!t.singleWord() || singleWord(text, i, t.content()))) {
                    hit = t;
                    break;
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int start = i, end = i + hit.content().length();
            if (hit.lstrip()) {
                while (start > from && Character.isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (hit.rstrip()) {
                while (end < text.length() && Character.isWhitespace(text.charAt(end))) {
                    end++;
                }
            }
            if (start > from) {
                rest.accept(text.substring(from, start), from == 0 ? base : base + from);
            }
            ids.add(hit.id());
            from = i = end;
        }
        if (from < text.length()) {
            rest.accept(text.substring(from), from == 0 ? base : base + from);
        }
    }

    /** single_word: the match must not touch a word character on either side. */
    private static boolean singleWord(String text, int i, String content) {
        int end = i + content.length();
        boolean before = i > 0 && isWordChar(text.codePointBefore(i));
        boolean after = end < text.length() && isWordChar(text.codePointAt(end));
        return !before && !after;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }

    /**
     * Decodes ids to text. Ids outside the vocabulary are dropped, as Hugging Face does.
     *
     * @param skipSpecialTokens whether special added tokens are left out
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (skipSpecialTokens && isSpecial(id)) {
                continue;
            }
            String t = token(id);
            if (t != null) {
                tokens.add(t);
            }
        }
        if (decoder == null) {
            return String.join(" ", tokens);
        }
        return String.join("", decoder.apply(Collections.unmodifiableList(tokens)));
    }
}
