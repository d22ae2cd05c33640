package dev.jvllm.models.runtime;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.arch.CheckpointLayout;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.Checkpoint;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Random checkpoints: layout = transformers' for every fixture, dummy = written, loadable and runnable. */
class RandomCheckpointTest {
    static final Backend CPU = CpuBackend.create();
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path FIXTURES = Path.of("src/test/resources/fixtures");

    @AfterAll
    static void close() {
        CPU.close();
    }

    /** The dense fixtures: random weights are dense, so quantized checkpoints are out of scope (refused below). */
    static Stream<String> fixtures() throws IOException {
        try (Stream<Path> s = Files.list(FIXTURES)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("config.json"))).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith("quant-")).sorted().toList().stream();
        }
    }

    @Test
    void dummyRefusesAQuantizedConfigByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelLoader.load(
                FIXTURES.resolve("quant-gptq"), CPU, ParallelConfig.single(), DType.F32, null,
                ModelLoader.LoadFormat.DUMMY));
        assertTrue(e.getMessage().contains("quant-gptq/config.json") && e.getMessage().contains("dummy"), e.getMessage());
    }

    /** Buffers transformers saves that the loaders skip (and a random checkpoint therefore omits). */
    static boolean skippedBuffer(String name) {
        return name.endsWith("rotary_emb.inv_freq") || name.matches(".*self_attn\\.(slope_rate|query_decay|key_decay|"
                + "diagonal_decay)") || name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias");
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void layoutIsWhatTransformersSaves(String fixture) throws IOException {
        ModelConfig config = ModelConfig.load(FIXTURES.resolve(fixture));
        Map<String, String> want = new TreeMap<>();
        try (Checkpoint ckpt = Checkpoint.open(FIXTURES.resolve(fixture))) {
            for (CheckpointTensor t : ckpt) {
                if (!skippedBuffer(t.name())) {
                    want.put(t.name(), t.shapeString());
                }
            }
        }
        Map<String, String> got = CheckpointLayout.of(config).stream()
                .collect(Collectors.toMap(CheckpointLayout.Entry::name, e -> Arrays.toString(e.shape()), (a, b) -> {
                    throw new AssertionError("duplicate name");
                }, TreeMap::new));
        assertEquals(want, got, fixture);
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void dummyWeightsLoadAndRunEveryArchitecture(String fixture) {
        try (CausalLM model = ModelLoader.load(FIXTURES.resolve(fixture), CPU, ParallelConfig.single(), DType.F32, null,
                ModelLoader.LoadFormat.DUMMY);
             SimpleRunner runner = new SimpleRunner(model, 32)) {
            float[] logits = runner.promptLogits(new int[] {1, 5, 9, 200});
            for (float v : logits) {
                assertTrue(Float.isFinite(v), fixture + ": non-finite logit");
            }
            assertEquals(4L * model.context().config().vocabSize(), logits.length);
        }
    }

    @Test
    void valuesAreUniformInVllmsRangeAndIndependentPerTensor() {
        double sum = 0, sumSq = 0;
        int n = 200_000;
        float min = 1, max = -1;
        for (int i = 0; i < n; i++) {
            float v = RandomCheckpoint.value(7, "model.layers.0.mlp.up_proj.weight", i);
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
            sumSq += (double) v * v;
        }
        assertTrue(min >= RandomCheckpoint.LOW && max <= RandomCheckpoint.HIGH, min + " " + max);
        assertTrue(min < -0.99e-3 && max > 0.99e-3, "covers the range: " + min + " " + max);
        assertEquals(0, sum / n, 1e-5);
        assertEquals(1e-6 / 3, sumSq / n, 1e-8); // variance of U(-a, a) is a²/3
        assertNotEquals(RandomCheckpoint.value(7, "a.weight", 0), RandomCheckpoint.value(7, "b.weight", 0));
        assertNotEquals(RandomCheckpoint.value(7, "a.weight", 0), RandomCheckpoint.value(8, "a.weight", 0));
        assertEquals(RandomCheckpoint.value(7, "a.weight", 12345), RandomCheckpoint.value(7, "a.weight", 12345));
    }

    /** The llama fixture's config, as an object to edit. */
    static ObjectNode llamaConfig() throws IOException {
        return (ObjectNode) JSON.readTree(FIXTURES.resolve("llama/config.json").toFile());
    }

    @Test
    void writtenCheckpointHoldsExactlyTheDummyWeightsAndGivesTheSameLogits(@TempDir Path tmp) throws IOException {
        ObjectNode cfg = llamaConfig();
        cfg.put("torch_dtype", "bfloat16");
        cfg.put("vocab_size", 20_000); // an embedding of several generation chunks, filled in parallel
        Path dir = tmp.resolve("ckpt");
        RandomCheckpoint.write(cfg, dir, DType.BF16, RandomCheckpoint.DEFAULT_SEED, RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));

        ModelConfig written = ModelConfig.load(dir);
        assertEquals(DType.BF16, written.dtype().orElseThrow());
        assertEquals(19_998, written.bosTokenId().orElseThrow());
        assertEquals(List.of(19_999), written.eosTokenIds());
        try (Arena arena = Arena.ofShared(); Checkpoint ckpt = Checkpoint.open(dir)) {
            List<CheckpointTensor> dummy = RandomCheckpoint.tensors(written, DType.BF16, RandomCheckpoint.DEFAULT_SEED,
                    arena);
            assertEquals(dummy.size(), ckpt.size());
            for (CheckpointTensor d : dummy) {
                CheckpointTensor w = ckpt.get(d.name());
                assertEquals(DType.BF16, w.dtype());
                assertArrayEquals(d.shape(), w.shape(), d.name());
                assertArrayEquals(d.data().toArray(ValueLayout.JAVA_BYTE), w.data().toArray(ValueLayout.JAVA_BYTE),
                        d.name());
            }
        }
        int[] prompt = {19_998, 3, 77, 15_000, 12};
        float[] fromDisk;
        try (CausalLM m = ModelLoader.load(dir, CPU, ParallelConfig.single(), DType.F32, null);
             SimpleRunner r = new SimpleRunner(m, 16)) {
            fromDisk = r.promptLogits(prompt);
        }
        try (CausalLM m = ModelLoader.load(dir, CPU, ParallelConfig.single(), DType.F32, null,
                ModelLoader.LoadFormat.DUMMY);
             SimpleRunner r = new SimpleRunner(m, 16)) {
            assertArrayEquals(fromDisk, r.promptLogits(prompt));
        }
    }

    @Test
    void largeCheckpointsAreShardedWithAnIndexThatTheLoaderReads(@TempDir Path tmp) throws IOException {
        Path one = tmp.resolve("one");
        Path sharded = tmp.resolve("sharded");
        RandomCheckpoint.write(llamaConfig(), one, DType.F32, 5, RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        RandomCheckpoint.write(llamaConfig(), sharded, DType.F32, 5, 60_000);
        assertFalse(Files.exists(sharded.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(sharded.resolve("model.safetensors.index.json")));
        try (Checkpoint a = Checkpoint.open(one); Checkpoint b = Checkpoint.open(sharded)) {
            assertTrue(b.files().size() > 2, "shards: " + b.files());
            assertEquals(a.size(), b.size());
            for (CheckpointTensor t : a) {
                assertArrayEquals(t.toFloatArray(), b.get(t.name()).toFloatArray(), t.name());
            }
        }
        try (CausalLM m = ModelLoader.load(sharded, CPU, ParallelConfig.single(), DType.F32, null);
             SimpleRunner r = new SimpleRunner(m, 16)) {
            assertEquals(13, r.greedy(new int[] {1, 2, 3}, 13).length);
        }
    }

    @Test
    void refusesANonEmptyOutputDirectoryAndTooSmallAVocabulary(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("model.safetensors"), "old");
        IOException e = assertThrows(IOException.class, () -> RandomCheckpoint.write(llamaConfig(), tmp, DType.BF16, 1,
                RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        ObjectNode small = llamaConfig();
        small.put("vocab_size", 200);
        IllegalArgumentException v = assertThrows(IllegalArgumentException.class,
                () -> RandomCheckpoint.write(small, tmp.resolve("new"), DType.BF16, 1,
                        RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES));
        assertTrue(v.getMessage().contains("vocab_size 200"), v.getMessage());
    }

    @Test
    void unknownArchitecturesFailWithTheSupportedList() {
        ModelConfig c = ModelConfig.parse("{\"architectures\": [\"FooForCausalLM\"], \"vocab_size\": 300}", "foo.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CheckpointLayout.of(c));
        assertTrue(e.getMessage().contains("FooForCausalLM") && e.getMessage().contains("LlamaForCausalLM"),
                e.getMessage());
    }
}
