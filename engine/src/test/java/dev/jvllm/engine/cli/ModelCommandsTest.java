package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.models.loader.Checkpoint;
import dev.jvllm.models.loader.CheckpointTensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contract others rely on: {@code logits --output} and {@code generate --prompt-token-ids --json}. */
class ModelCommandsTest {
    static final Path FIXTURE = Path.of("../models/src/test/resources/fixtures/llama");

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }


    @Test
    void logitsWritesTheRealVocabularyLogitsOfEveryPromptPosition(@TempDir Path tmp) throws Exception {
        try (Checkpoint expected = Checkpoint.open(FIXTURE.resolve("expected.safetensors"))) {
            int[] prompt = expected.get("prompt_0").toIntArray();
            float[] want = expected.get("logits_0").toFloatArray();
            Path out = tmp.resolve("l.safetensors");
            String ids = Arrays.stream(prompt).mapToObj(Integer::toString).collect(Collectors.joining(","));
            Result r = run("logits", "--model", FIXTURE.toString(), "--prompt-token-ids", ids, "--output", out.toString(),
                    "--backend", "cpu");
            assertEquals(0, r.code(), r.err());
            try (Checkpoint got = Checkpoint.open(out)) {
                CheckpointTensor t = got.get("logits");
                assertEquals("F32", t.dtype().safetensorsName());
                assertArrayEquals(new long[] {prompt.length, 384}, t.shape());
                float[] g = t.toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], g[i], 1e-3, "logit " + i);
                }
            }
        }
    }

    @Test
    void generateJsonPrintsOnlyTheGeneratedIds() throws Exception {
        try (Checkpoint expected = Checkpoint.open(FIXTURE.resolve("expected.safetensors"))) {
            int[] prompt = expected.get("prompt_1").toIntArray();
            int[] greedy = expected.get("greedy_1").toIntArray();
            String ids = Arrays.stream(prompt).mapToObj(Integer::toString).collect(Collectors.joining(","));
            Result r = run("generate", "--model", FIXTURE.toString(), "--prompt-token-ids", ids, "--max-tokens",
                    String.valueOf(greedy.length), "--temperature", "0", "--json", "--tensor-parallel-size", "2");
            assertEquals(0, r.code(), r.err());
            String want = "{\"token_ids\": [" + Arrays.stream(greedy).mapToObj(Integer::toString)
                    .collect(Collectors.joining(", ")) + "]}";
            assertEquals(want, r.out().strip());
        }
    }

    @Test
    void seededSamplingIsReproducibleAndBadInputIsAUsageError() {
        String[] args = {"generate", "--model", FIXTURE.toString(), "--prompt-token-ids", "5,6,7", "--max-tokens", "6",
                "--temperature", "0.9", "--top-p", "0.9", "--seed", "11", "--json"};
        Result a = run(args), b = run(args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        assertEquals(2, run("generate", "--model", FIXTURE.toString(), "--prompt-token-ids", "5,x").code());
        assertEquals(2, run("generate", "--model", "/nonexistent", "--prompt-token-ids", "5").code());
        assertEquals(2, run("logits", "--model", FIXTURE.toString(), "--prompt-token-ids", "5").code()); // no --output
        Result text = run("generate", "--model", FIXTURE.toString(), "Once upon a time");
        assertEquals(2, text.code());
        assertTrue(text.err().contains("--prompt-token-ids"), text.err());
    }

    @Test
    void unknownArchitectureNamesTheSupportedOnes(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("config.json"), "{\"architectures\": [\"NopeForCausalLM\"]}");
        Result r = run("logits", "--model", tmp.toString(), "--prompt-token-ids", "1", "--output",
                tmp.resolve("x.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("NopeForCausalLM") && r.err().contains("LlamaForCausalLM"), r.err());
    }

    @Test
    void aTextPromptIsEncodedWithTheModelsTokenizerAndTheOutputDecoded() throws Exception {
        Path tmp = Path.of("../default-model"); // a model with its tokenizer
        Result r = run("generate", "--model", tmp.toString(), "Once upon a time", "--max-tokens", "5", "--json",
                "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        assertEquals(5, node.get("token_ids").size(), r.out());
        int[] ids = new int[5];
        for (int i = 0; i < 5; i++) {
            ids[i] = node.get("token_ids").get(i).asInt();
        }
        var tokenizer = dev.jvllm.engine.tokenizer.Tokenizer.load(tmp);
        assertEquals(tokenizer.decode(ids, true), node.get("text").asText());
        Result plain = run("generate", "--model", tmp.toString(), "Once upon a time", "--max-tokens", "5",
                "--temperature", "0");
        assertEquals("Once upon a time" + tokenizer.decode(ids, true) + System.lineSeparator(), plain.out(),
                "greedy: the prompt and the same text without --json");
        assertEquals(2, run("generate", "--model", tmp.toString(), "text", "--prompt-token-ids", "1").code());
    }

    @Test
    void memorySizesParseWithBinaryUnits() throws Exception {
        assertEquals(4L << 30, ModelOptions.bytes("--kv-cache-memory", "4GiB"));
        assertEquals(512L << 20, ModelOptions.bytes("--kv-cache-memory", "512MiB"));
        assertEquals(2L << 30, ModelOptions.bytes("--kv-cache-memory", "2g"));
        assertEquals(1536, ModelOptions.bytes("--kv-cache-memory", "1.5K"));
        assertEquals(1000, ModelOptions.bytes("--kv-cache-memory", "1000"));
        assertEquals(0.3, ModelOptions.fraction("30%"), 1e-12);
        assertNull(ModelOptions.fraction("4GiB"));
        assertThrows(Command.UsageException.class, () -> ModelOptions.fraction("0%"));
        assertThrows(Command.UsageException.class, () -> ModelOptions.fraction("150%"));
        Command.UsageException e = assertThrows(Command.UsageException.class,
                () -> ModelOptions.bytes("--kv-cache-memory", "4 parsecs"));
        assertTrue(e.getMessage().contains("--kv-cache-memory") && e.getMessage().contains("4GiB"), e.getMessage());
        Result r = run("generate", "--model", FIXTURE.toString(), "--prompt-token-ids", "5", "--kv-cache-memory", "lots");
        assertEquals(2, r.code());
    }
}
