package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.jvllm.models.CausalLM;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The padding and shape logic of {@link DecodeGraphs}, and, on the CPU (which captures nothing),
 * padded decode steps against unpadded ones: padding rows change no sequence's logits, KV cache or
 * state over a script of joining and finishing sequences.
 */
class DecodeGraphsTest {

    @Test
    void captureSizesAreVllmsUpToMaxNumSeqs() {
        assertArrayEquals(new int[] {1}, DecodeGraphs.captureSizes(1));
        assertArrayEquals(new int[] {1, 2, 4, 6}, DecodeGraphs.captureSizes(6));
        assertArrayEquals(new int[] {1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64}, DecodeGraphs.captureSizes(64));
        int[] s = DecodeGraphs.captureSizes(300);
        assertEquals(256, s[34]);
        assertArrayEquals(new int[] {272, 288, 300}, java.util.Arrays.copyOfRange(s, 35, s.length));
    }

    @Test
    void everyBatchUpToMaxNumSeqsHasTheSmallestBucketHoldingIt() {
        qt().forAll(integers().between(1, 600), integers().between(1, 600))
                .check((max, any) -> {
                    int n = (any - 1) % max + 1;
                    int[] sizes = DecodeGraphs.captureSizes(max);
                    int b = DecodeGraphs.batchBucket(sizes, n);
                    for (int x : sizes) {
                        if (x >= n && x < b) {
                            return false;
                        }
                    }
                    return b >= n && b <= max && DecodeGraphs.batchBucket(sizes, max + 1) == -1;
                });
    }

    @Test
    void contextBucketsArePowersOfTwoWithinTheModelLength() {
        assertEquals(256, DecodeGraphs.contextBucket(1, 4096));
        assertEquals(256, DecodeGraphs.contextBucket(256, 4096));
        assertEquals(512, DecodeGraphs.contextBucket(257, 4096));
        assertEquals(3000, DecodeGraphs.contextBucket(2100, 3000));
        assertEquals(64, DecodeGraphs.contextBucket(10, 64));
        qt().forAll(integers().between(1, 100_000), integers().between(1, 100_000))
                .check((any, max) -> {
                    int len = (any - 1) % max + 1;
                    int c = DecodeGraphs.contextBucket(len, max);
                    return c >= len && c <= max && (c == max || Integer.bitCount(c) == 1);
                });
    }

    @Test
    void paddingRowsWriteNoSlotAndReadOneKeyOfBlockZero() {
        ModelRunner.Chunk a = new ModelRunner.Chunk(new int[] {7}, 17, new int[] {5, 9, 11}, 3, new int[] {0});
        ModelRunner.Chunk b = new ModelRunner.Chunk(new int[] {8}, 2, new int[] {4}, 6, new int[] {0});
        int[] m = DecodeGraphs.metadata(List.of(a, b), 4, 32, 16);
        int w = 2;
        assertEquals(DecodeGraphs.metadataLength(4, w), m.length);
        assertArrayEquals(new int[] {7, 8, 0, 0}, java.util.Arrays.copyOfRange(m, 0, 4), "ids");
        assertArrayEquals(new int[] {17, 2, 0, 0}, java.util.Arrays.copyOfRange(m, 4, 8), "positions");
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, java.util.Arrays.copyOfRange(m, 8, 13), "query_start_loc");
        assertArrayEquals(new int[] {18, 3, 1, 1}, java.util.Arrays.copyOfRange(m, 13, 17), "seq_lens");
        assertArrayEquals(new int[] {5, 9, 4, 0, 0, 0, 0, 0}, java.util.Arrays.copyOfRange(m, 17, 25),
                "block tables, cut to the context's two blocks");
        assertArrayEquals(new int[] {9 * 16 + 1, 4 * 16 + 2, -1, -1}, java.util.Arrays.copyOfRange(m, 25, 29), "slots");
        assertArrayEquals(new int[] {3, 6, -1, -1}, java.util.Arrays.copyOfRange(m, 29, 33), "state slots");
        assertArrayEquals(new int[] {1, 1, 0, 0}, java.util.Arrays.copyOfRange(m, 33, 37), "has state");
        assertThrows(IllegalArgumentException.class, () -> DecodeGraphs.metadata(List.of(a), 1, 16, 16),
                "a sequence past the context bucket");
    }

    @Test
    void onlyStepsOfSingleTokenContinuationsAreDecodes() {
        ModelRunner.Chunk decode = new ModelRunner.Chunk(new int[] {7}, 5, new int[] {0}, -1, new int[] {0});
        assertTrue(DecodeGraphs.isDecode(List.of(decode, decode)));
        assertFalse(DecodeGraphs.isDecode(List.of()));
        assertFalse(DecodeGraphs.isDecode(List.of(decode,
                new ModelRunner.Chunk(new int[] {7, 8}, 5, new int[] {0}, -1, new int[] {1}))), "a prefill chunk");
        assertFalse(DecodeGraphs.isDecode(List.of(new ModelRunner.Chunk(new int[] {7}, 0, new int[] {0}, -1,
                new int[] {0}))), "a one-token prompt starts from no cache or state");
        assertFalse(DecodeGraphs.isDecode(List.of(new ModelRunner.Chunk(new int[] {7}, 5, new int[] {0}, -1,
                new int[0]))), "no logits wanted");
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "mamba2", "jamba"})
    void paddedDecodesMatchUnpaddedOnesOnTheCpu(String arch) {
        CausalLM model = EngineFixtures.model(arch);
        RunnerScript script = RunnerScript.of(arch.hashCode(), !model.context().stateLayers().isEmpty());
        assertTrue(script.decodeSteps() > 20);
        try (ModelRunner eager = RunnerScript.runner(model, DecodeGraphs.Mode.EAGER);
                ModelRunner padded = RunnerScript.runner(model, DecodeGraphs.Mode.PADDED_EAGER)) {
            script.compare(eager, padded, RunnerScript.close(1e-5f));
            assertEquals("backend cpu does not capture op graphs",
                    RunnerScript.runner(model, DecodeGraphs.Mode.GRAPHS).graphsOffReason());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "jamba"})
    void greedyStepsGiveTheArgmaxOfTheirLogits(String arch) {
        CausalLM model = EngineFixtures.model(arch);
        boolean stateful = !model.context().stateLayers().isEmpty();
        // padded: the argmax runs in the step's body (what a graph records); eager: after the logits
        for (DecodeGraphs.Mode mode : new DecodeGraphs.Mode[] {DecodeGraphs.Mode.PADDED_EAGER, DecodeGraphs.Mode.EAGER}) {
            try (ModelRunner logits = RunnerScript.runner(model, mode);
                    ModelRunner greedy = RunnerScript.runner(model, mode)) {
                RunnerScript.of(arch.hashCode(), stateful).compareGreedy(logits, greedy);
            }
            try (ModelRunner logits = RunnerScript.runner(model, mode);
                    ModelRunner greedy = RunnerScript.runner(model, mode)) { // ids from the step before, on the device
                assertTrue(RunnerScript.of(arch.hashCode(), stateful).compareChainedGreedy(logits, greedy) >= 10);
            }
        }
        try (ModelRunner r = RunnerScript.runner(model, DecodeGraphs.Mode.EAGER)) {
            assertThrows(IllegalArgumentException.class, () -> r.executeGreedy(List.of(new ModelRunner.Chunk(
                    new int[] {1, 2}, 0, new int[] {0}, -1, new int[] {1})), null), "a prefill is no decode step");
        }
    }
}
