package dev.jvllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Components one at a time, and the load errors for what is not supported. */
class TokenizerComponentsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path BYTELEVEL = TokenizerFixturesTest.ROOT.resolve("bytelevel");

    @TempDir
    Path tmp;

    /** The bytelevel fixture's tokenizer.json, edited by {@code edit}, loaded from a temp dir. */
    Tokenizer variant(Consumer<ObjectNode> edit) throws Exception {
        ObjectNode root = (ObjectNode) JSON.readTree(BYTELEVEL.resolve("tokenizer.json").toFile());
        edit.accept(root);
        Files.writeString(tmp.resolve("tokenizer.json"), JSON.writeValueAsString(root));
        return Tokenizer.load(tmp);
    }

    String loadError(Consumer<ObjectNode> edit) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> variant(edit));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        return e.getMessage();
    }

    static ObjectNode pre(ObjectNode root, int i) {
        return (ObjectNode) root.get("pre_tokenizer").get("pretokenizers").get(i);
    }

    @Test
    void unsupportedComponentsNameTheFilePathValueAndTheSupportedOnes() {
        String m = loadError(r -> pre(r, 1).put("type", "BertPreTokenizer"));
        assertTrue(m.contains("pre_tokenizer.pretokenizers[1].type") && m.contains("\"BertPreTokenizer\"")
                && m.contains("Metaspace"), m);
        m = loadError(r -> ((ObjectNode) r.get("model")).put("type", "Unigram"));
        assertTrue(m.contains("model.type") && m.contains("Unigram") && m.contains("BPE"), m);
        m = loadError(r -> r.putObject("normalizer").put("type", "BertNormalizer"));
        assertTrue(m.contains("normalizer.type") && m.contains("BertNormalizer") && m.contains("NFKC"), m);
        m = loadError(r -> ((ObjectNode) r.get("decoder")).put("type", "CTC"));
        assertTrue(m.contains("decoder.type") && m.contains("CTC") && m.contains("ByteFallback"), m);
        m = loadError(r -> ((ObjectNode) r.get("post_processor")).put("type", "Weird"));
        assertTrue(m.contains("post_processor.type") && m.contains("TemplateProcessing"), m);
        m = loadError(r -> pre(r, 0).put("behavior", "Sometimes"));
        assertTrue(m.contains("pre_tokenizer.pretokenizers[0].behavior") && m.contains("Contiguous"), m);
        m = loadError(r -> pre(r, 0).put("frobnicate", true));
        assertTrue(m.contains("pre_tokenizer.pretokenizers[0].frobnicate"), m);
        m = loadError(r -> ((ObjectNode) r.get("model")).put("dropout", 0.1));
        assertTrue(m.contains("model.dropout"), m);
        m = loadError(r -> ((ObjectNode) pre(r, 0).get("pattern")).put("Regex", "(?<"));
        assertTrue(m.contains("pre_tokenizer.pretokenizers[0].pattern.Regex"), m);
        m = loadError(r -> ((ArrayNode) r.get("model").get("merges")).add(JSON.createArrayNode().add("Q").add("zz")));
        assertTrue(m.contains("model.merges[340]"), m);
    }

    @Test
    void malformedJsonNamesTheFile() throws Exception {
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\",");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("malformed JSON"),
                e.getMessage());
    }

    @Test
    void mergesWrittenAsStringsEncodeTheSame() throws Exception {
        Tokenizer pairs = Tokenizer.load(BYTELEVEL);
        Tokenizer strings = variant(r -> {
            ArrayNode merges = (ArrayNode) r.get("model").get("merges");
            ArrayNode out = JSON.createArrayNode();
            merges.forEach(m -> out.add(m.get(0).asText() + " " + m.get(1).asText()));
            ((ObjectNode) r.get("model")).set("merges", out);
        });
        for (String s : List.of("Hello world", "It was the best of times", "numbers 3.14159")) {
            assertArrayEquals(pairs.encode(s, true), strings.encode(s, true), s);
        }
    }

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary() throws Exception {
        // With ignore_merges a word in the vocabulary is one token even when no merge path builds it.
        Tokenizer t = variant(r -> {
            ((ObjectNode) r.get("model")).put("ignore_merges", true);
            ((ObjectNode) r.get("model")).set("merges", JSON.createArrayNode());
        });
        int the = t.tokenId("the");
        if (the >= 0) {
            assertArrayEquals(new int[] {the}, t.encode("the", false));
        }
        assertEquals(3, t.encode("xyz", false).length);
    }

    /** A tiny BPE over a, b, c with merges a+b, ab+c, and the given pre-tokenizer and decoder. */
    Tokenizer tiny(String extraModel, String preTokenizer, String normalizer) throws Exception {
        String json = """
                {"added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
                 "normalizer": %s, "pre_tokenizer": %s, "post_processor": null, "decoder": null,
                 "model": {"type": "BPE", "unk_token": "<unk>", %s
                   "vocab": {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "abc": 5, "▁": 6, "▁a": 7},
                   "merges": ["a b", "ab c", "▁ a"]}}
                """.formatted(normalizer, preTokenizer, extraModel);
        Files.writeString(tmp.resolve("tokenizer.json"), json);
        return Tokenizer.load(tmp);
    }

    @Test
    void bpeMergesByRankWithUnkAndFuseUnk() throws Exception {
        Tokenizer t = tiny("", "null", "null");
        assertArrayEquals(new int[] {5, 4}, t.encode("abcab", false));
        assertArrayEquals(new int[] {1, 0, 0, 2}, t.encode("axyb", false));
        assertArrayEquals(new int[] {1, 0, 2}, tiny("\"fuse_unk\": true,", "null", "null").encode("axyb", false));
        assertEquals("a <unk> b", t.decode(new int[] {1, 0, 2}, false));
        assertEquals("a b", t.decode(new int[] {1, 0, 2}, true));
    }

    @Test
    void metaspacePrependSchemesAndNormalizers() throws Exception {
        String ms = "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"%s\", \"split\": true}";
        assertArrayEquals(new int[] {6, 4, 7}, tiny("", ms.formatted("always"), "null").encode("ab a", false));
        assertArrayEquals(new int[] {4, 7}, tiny("", ms.formatted("never"), "null").encode("ab a", false));
        String norm = """
                {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                 {"type": "Strip", "strip_left": true, "strip_right": true},
                 {"type": "Replace", "pattern": {"String": "x"}, "content": "c"}, {"type": "Prepend", "prepend": "a"}]}
                """;
        // "  ＡBX " → NFKC "  ABX " → "  abx " → "abx" → "abc" → "aabc"
        assertArrayEquals(new int[] {1, 5}, tiny("", "null", norm).encode("  ＡBX ", false));
    }

    static List<String> split(String s, String behavior, boolean invert) {
        List<PreTokenizers.Piece> out = new ArrayList<>();
        PreTokenizers.split(new PreTokenizers.Piece(s, true), Pattern.compile("-"), behavior, invert, out);
        return out.stream().map(PreTokenizers.Piece::text).toList();
    }

    @Test
    void splitBehaviorsMatchTheHuggingFaceDocumentation() {
        String s = "the-final--countdown";
        assertEquals(List.of("the", "final", "countdown"), split(s, "Removed", false));
        assertEquals(List.of("the", "-", "final", "-", "-", "countdown"), split(s, "Isolated", false));
        assertEquals(List.of("the-", "final-", "-", "countdown"), split(s, "MergedWithPrevious", false));
        assertEquals(List.of("the", "-final", "-", "-countdown"), split(s, "MergedWithNext", false));
        assertEquals(List.of("the", "-", "final", "--", "countdown"), split(s, "Contiguous", false));
        assertEquals(List.of("-", "-", "-"), split(s, "Removed", true));
    }

    @Test
    void regexWhitespaceAndLettersAreUnicodeAsInHuggingFace() {
        // Oniguruma's \s is Unicode White_Space: NBSP, ideographic space, line separator, NEL.
        assertTrue(Regexes.compile("\\s+").matcher("\u00A0\u3000\u2028\u0085\t").matches());
        assertFalse(Regexes.compile("\\s").matcher("\u200B").matches()); // zero-width space is not White_Space
        assertTrue(Regexes.compile("(?i:'s)\\p{L}+").matcher("'Sé").matches());
        assertTrue(Regexes.compile("\\p{N}{1,3}").matcher("١٢٣").matches());
        // Qwen2 / GPT-4o style possessive quantifiers compile as written.
        Regexes.compile("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*"
                + "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+");
    }

    @Test
    void byteLevelTableRoundTrips() {
        for (int b = 0; b < 256; b++) {
            assertEquals((byte) b, ByteLevel.decode(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]))[0]);
        }
        assertEquals("Ġ", ByteLevel.encode(" "));
        assertEquals("Ċ", ByteLevel.encode("\n"));
    }
}
