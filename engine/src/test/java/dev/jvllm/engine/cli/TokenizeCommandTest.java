package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code tokenize} command line: {@code --text ... --json}, {@code --input-jsonl}, {@code --ids}, errors. */
class TokenizeCommandTest {
    static final Path DIR = Path.of("src/test/resources/tokenizers/bytelevel");
    static final ObjectMapper JSON = new ObjectMapper();

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static List<JsonNode> cases() throws Exception {
        return Files.readAllLines(DIR.resolve("cases.jsonl")).stream().map(l -> {
            try {
                return JSON.readTree(l);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList();
    }

    static String ids(JsonNode c, String sep) {
        return java.util.stream.StreamSupport.stream(c.get("ids").spliterator(), false).map(JsonNode::asText)
                .collect(Collectors.joining(sep));
    }

    @Test
    void textWithJsonPrintsTheIdsObject() throws Exception {
        JsonNode c = cases().get(2);
        Result r = run("tokenize", "--tokenizer", DIR.toString(), "--text", c.get("text").asText(), "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("{\"ids\": [" + ids(c, ", ") + "]}" + System.lineSeparator(), r.out());
    }

    @Test
    void textWithoutJsonPrintsSpaceSeparatedIds() throws Exception {
        JsonNode c = cases().get(9);
        Result r = run("tokenize", "--tokenizer=" + DIR, "--text", c.get("text").asText());
        assertEquals(0, r.code(), r.err());
        assertEquals(ids(c, " "), r.out().strip());
    }

    @Test
    void inputJsonlPrintsOneObjectPerLine(@TempDir Path tmp) throws Exception {
        List<JsonNode> cases = cases();
        Path in = tmp.resolve("in.jsonl");
        Files.writeString(in, cases.stream().map(c -> "{\"text\": " + c.get("text").toString() + "}")
                .collect(Collectors.joining("\n")) + "\n");
        Result r = run("tokenize", "--tokenizer", DIR.toString(), "--input-jsonl", in.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(cases.size(), lines.size());
        for (int i = 0; i < lines.size(); i++) {
            assertEquals("{\"ids\": [" + ids(cases.get(i), ", ") + "]}", lines.get(i));
        }
    }

    @Test
    void idsDecodeBackToText() {
        Result r = run("tokenize", "--tokenizer", DIR.toString(), "--text", "Hello world", "--json");
        String csv = r.out().strip().replace("{\"ids\": [", "").replace("]}", "").replace(" ", "");
        Result back = run("tokenize", "--tokenizer", DIR.toString(), "--ids", csv, "--json");
        assertEquals(0, back.code(), back.err());
        assertEquals("{\"text\": \"<s>Hello world\"}", back.out().strip());
    }

    @Test
    void badCommandLinesExitTwoAndFailuresExitOne(@TempDir Path tmp) throws Exception {
        assertEquals(2, run("tokenize", "--text", "x").code());
        assertEquals(2, run("tokenize", "--tokenizer", DIR.toString()).code());
        assertEquals(2, run("tokenize", "--tokenizer", DIR.toString(), "--text", "x", "--ids", "1").code());
        assertEquals(2, run("tokenize", "--tokenizer", DIR.toString(), "--text", "x", "--bogus").code());
        assertEquals(2, run("tokenize", "--tokenizer", tmp.toString(), "--text", "x").code());
        assertEquals(2, run("tokenize", "--tokenizer", DIR.toString(), "--ids", "1,x").code());
        Files.writeString(tmp.resolve("tokenizer.json"), "{not json");
        Result r = run("tokenize", "--tokenizer", tmp.toString(), "--text", "x");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("tokenizer.json") && r.err().contains("malformed JSON"), r.err());
        assertTrue(r.out().isEmpty());
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
        r = run("tokenize", "--tokenizer", DIR.toString(), "--input-jsonl", bad.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.jsonl:2"), r.err());
        assertEquals(0, run("help", "tokenize").code());
    }
}
