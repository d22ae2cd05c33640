package dev.jvllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Parity with the Hugging Face tokenizers library (0.23.2) on the fixtures of tools/oracle/make_tokenizer_fixtures.py. */
class TokenizerFixturesTest {
    static final Path ROOT = Path.of("src/test/resources/tokenizers");
    static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Arguments> cases() throws Exception {
        List<Arguments> out = new ArrayList<>();
        for (String name : List.of("bytelevel", "metaspace")) {
            List<String> lines = Files.readAllLines(ROOT.resolve(name).resolve("cases.jsonl"));
            for (int i = 0; i < lines.size(); i++) {
                out.add(Arguments.of(name, i, JSON.readTree(lines.get(i))));
            }
        }
        return out.stream();
    }

    static int[] ints(JsonNode n) {
        int[] v = new int[n.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = n.get(i).asInt();
        }
        return v;
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("cases")
    void matchesHuggingFace(String name, int index, JsonNode c) throws Exception {
        Tokenizer t = Tokenizer.load(ROOT.resolve(name));
        String text = c.get("text").asText();
        assertArrayEquals(ints(c.get("ids")), t.encode(text, true), "encode with special tokens: " + text);
        int[] plain = ints(c.get("ids_no_special"));
        assertArrayEquals(plain, t.encode(text, false), "encode without special tokens: " + text);
        assertEquals(c.get("decoded").asText(), t.decode(plain, false), "decode");
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("cases")
    void incrementalDecodingConcatenatesToTheFullDecode(String name, int index, JsonNode c) throws Exception {
        Tokenizer t = Tokenizer.load(ROOT.resolve(name));
        for (boolean skip : new boolean[] {false, true}) {
            int[] ids = ints(c.get("ids"));
            IncrementalDecoder d = new IncrementalDecoder(t, skip);
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String piece = d.next(id);
                assertFalse(piece.contains("\uFFFD"), "broken character emitted: " + piece);
                if (!piece.isEmpty()) {
                    assertFalse(Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "split surrogate pair");
                }
                sb.append(piece);
            }
            sb.append(d.flush());
            assertEquals(t.decode(ids, skip), sb.toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel", "metaspace"})
    void vocabularyAndSpecialTokens(String name) throws Exception {
        Tokenizer t = Tokenizer.load(ROOT.resolve(name));
        assertEquals(0, t.tokenId("<s>"));
        assertEquals("</s>", t.token(1));
        assertEquals(0, t.bosId().orElseThrow());
        assertEquals(1, t.eosId().orElseThrow());
        assertTrue(t.isSpecial(3));
        assertEquals(-1, t.tokenId("no such token"));
        assertEquals(name.equals("bytelevel") ? 600 : 865, t.vocabSize());
        // Special tokens are never split, and decode can skip them.
        int[] ids = t.encode("a<|eot|>b", false);
        assertTrue(java.util.Arrays.stream(ids).anyMatch(id -> id == 3));
        assertEquals("ab", t.decode(ids, true).strip());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel", "metaspace"})
    void streamsEmojiOneIdAtATimeWithoutBrokenCharacters(String name) throws Exception {
        Tokenizer t = Tokenizer.load(ROOT.resolve(name));
        String text = "日本語 🙂🚀👍🏽 🇫🇷 中文";
        int[] ids = t.encode(text, false);
        IncrementalDecoder d = new IncrementalDecoder(t, false);
        StringBuilder sb = new StringBuilder();
        int held = 0;
        for (int id : ids) {
            String piece = d.next(id);
            held += piece.isEmpty() ? 1 : 0;
            assertFalse(piece.contains("\uFFFD"));
            sb.append(piece);
        }
        assertTrue(held > 0, "emoji byte tokens should be held back until the character completes");
        assertEquals("", d.flush());
        assertEquals(t.decode(ids, false), sb.toString());
        assertEquals(text, sb.toString());
    }
}
