package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.engine.cli.ModelCommandsTest.Result;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.loader.ModelConfig;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code save-random} and {@code --load-format dummy}: same weights, a tokenizer our tokenizer loads. */
class SaveRandomCommandTest {
    static final Path LLAMA_CONFIG = ModelCommandsTest.FIXTURE.resolve("config.json");

    static Result run(String... args) {
        return ModelCommandsTest.run(args);
    }

    @Test
    void writtenTokenizerLoadsAndEncodesByTheBpeRules(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ckpt");
        Result r = run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", dir.toString(), "--vocab-size",
                "2000", "--dtype", "bf16");
        assertEquals(0, r.code(), r.err());
        Tokenizer t = Tokenizer.load(dir);
        assertEquals(2000, t.vocabSize());
        assertEquals(1998, t.bosId().orElseThrow());
        assertEquals(1999, t.eosId().orElseThrow());
        assertEquals(2000, ModelConfig.load(dir).vocabSize());
        // ids 256.. = "Ġa".."Ġz", then "aa".."zz" (282..957): BPE merges the lowest-ranked pair first, so
        // "the" → t + "he" ("he" outranks "th"), " cat" → "Ġc" + "at"
        int he = 282 + ('h' - 'a') * 26 + ('e' - 'a');
        int at = 282 + ('t' - 'a');
        int spaceC = 256 + ('c' - 'a');
        assertArrayEquals(new int[] {1998, 't', he, spaceC, at}, t.encode("the cat", true));
        String text = "Tokens of a random checkpoint: 42, über-fast!";
        assertEquals(text, t.decode(t.encode(text, true), true));
        assertEquals("<|begin_of_text|>", t.token(1998));
        String config = Files.readString(dir.resolve("tokenizer_config.json"));
        assertFalse(config.contains("legacy"), "Jlama takes another path when tokenizer_config.json has legacy");
    }

    @Test
    void dummyLoadFormatGeneratesWhatTheWrittenCheckpointGenerates(@TempDir Path tmp) throws Exception {
        Path written = tmp.resolve("written");
        assertEquals(0, run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", written.toString(), "--seed",
                "1234").code());
        Path configOnly = Files.createDirectory(tmp.resolve("config-only"));
        Files.copy(written.resolve("config.json"), configOnly.resolve("config.json"));
        String[] gen = {"generate", "--prompt-token-ids", "5,6,7,300", "--max-tokens", "8", "--json", "--backend", "cpu"};
        Result fromDisk = run(concat(gen, "--model", written.toString()));
        Result dummy = run(concat(gen, "--model", configOnly.toString(), "--load-format", "dummy"));
        assertEquals(0, fromDisk.code(), fromDisk.err());
        assertEquals(0, dummy.code(), dummy.err());
        assertEquals(fromDisk.out(), dummy.out());
        assertTrue(fromDisk.out().contains("token_ids"), fromDisk.out());
        Result text = run("generate", "--model", written.toString(), "--max-tokens", "3", "--backend", "cpu",
                "once upon a time");
        assertEquals(0, text.code(), text.err());
        Result noWeights = run(concat(gen, "--model", configOnly.toString()));
        assertEquals(1, noWeights.code());
        assertTrue(noWeights.err().contains("no safetensors"), noWeights.err());
    }

    @Test
    void quantizationWritesThePublishedLayoutAndGenerates(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("awq");
        Result r = run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", dir.toString(), "--quantization",
                "awq", "--group-size", "32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("awq group_size=32"), r.err());
        String config = Files.readString(dir.resolve("config.json"));
        assertTrue(config.contains("\"quant_method\" : \"awq\"") && config.contains("\"group_size\" : 32"), config);
        try (var ckpt = dev.jvllm.models.loader.Checkpoint.open(dir)) {
            var names = new java.util.TreeSet<String>();
            ckpt.forEach(t -> names.add(t.name()));
            assertTrue(names.contains("model.layers.0.mlp.down_proj.qzeros") && names.contains("model.embed_tokens.weight")
                    && !names.contains("model.layers.0.mlp.down_proj.weight"), names.toString());
        }
        Result gen = run("generate", "--model", dir.toString(), "--prompt-token-ids", "5,6,7", "--max-tokens", "4",
                "--backend", "cpu");
        assertEquals(0, gen.code(), gen.err());
        Result bad = run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", tmp.resolve("b").toString(),
                "--quantization", "int3");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("int3") && bad.err().contains("gptq-act-order"), bad.err());
        assertEquals(2, run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", tmp.resolve("c").toString(),
                "--group-size", "64").code());
    }

    @Test
    void badOptionsAreUsageErrors(@TempDir Path tmp) {
        assertEquals(2, run("save-random", "--output", tmp.resolve("a").toString()).code());
        assertEquals(2, run("save-random", "--preset", "nope", "--output", tmp.resolve("a").toString()).code());
        assertEquals(2, run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", tmp.resolve("a").toString(),
                "--dtype", "int8").code());
        assertEquals(2, run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", tmp.resolve("a").toString(),
                "--vocab-size", "100").code());
        assertEquals(2, run("save-random", "--config", LLAMA_CONFIG.toString(), "--output", tmp.resolve("a").toString(),
                "--max-shard-size", "-5GB").code());
        assertEquals(2, run("generate", "--model", tmp.toString(), "--load-format", "pt", "--prompt-token-ids", "1")
                .code());
    }

    @Test
    void sizesAndThePresetParse() throws Exception {
        assertEquals(5_000_000_000L, SaveRandomCommand.size("5GB"));
        assertEquals(500_000_000L, SaveRandomCommand.size("500mb"));
        assertEquals(123, SaveRandomCommand.size("123"));
        try (InputStream in = SaveRandomCommand.class.getResourceAsStream("presets/llama-3.2-1b.json")) {
            ModelConfig c = ModelConfig.parse(new String(in.readAllBytes()), "preset");
            assertEquals(2048, c.hiddenSize());
            assertEquals(16, c.numHiddenLayers());
            assertEquals(8, c.numKeyValueHeads());
            assertEquals(8192, c.intermediateSize());
            assertTrue(c.tieWordEmbeddings());
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
