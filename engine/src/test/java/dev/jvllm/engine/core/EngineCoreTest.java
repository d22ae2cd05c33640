package dev.jvllm.engine.core;

import static dev.jvllm.engine.core.EngineFixtures.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scheduling properties of the engine on the committed tiny checkpoints: whatever the batch,
 * chunking, prefix-cache hits or preemptions, every greedy completion equals the model layer's
 * single-sequence run of its prompt, and nothing leaks.
 */
class EngineCoreTest {

    /** Random prompts, some extending others' prefixes (to hit the prefix cache), with their token budgets. */
    record Workload(List<int[]> prompts, List<Integer> maxTokens) {
        static Workload random(Random r, int maxPrompts, int maxLen, int maxNew) {
            List<int[]> prompts = new ArrayList<>();
            List<Integer> maxTokens = new ArrayList<>();
            int n = 1 + r.nextInt(maxPrompts);
            for (int i = 0; i < n; i++) {
                int len = 1 + r.nextInt(maxLen);
                int[] p = randomPrompt(r, len);
                if (i > 0 && r.nextBoolean()) { // share a prefix with an earlier prompt
                    int[] other = prompts.get(r.nextInt(i));
                    System.arraycopy(other, 0, p, 0, Math.min(len, r.nextInt(other.length + 1)));
                }
                prompts.add(p);
                maxTokens.add(1 + r.nextInt(maxNew));
            }
            return new Workload(prompts, maxTokens);
        }

        /** Runs every prompt in one engine and checks each completion against the prompt run alone (CPU reference). */
        void checkAgainstAlone(String arch, EngineCore core) {
            checkAgainstAlone(arch, core, (prompt, n) -> reference(arch, prompt, n));
        }

        /** The same against {@code alone}: (prompt, new tokens) → the greedy continuation of the prompt by itself. */
        void checkAgainstAlone(String label, EngineCore core, BiFunction<int[], Integer, int[]> alone) {
            for (int i = 0; i < prompts.size(); i++) {
                core.addRequest("r" + i, prompts.get(i), SamplingParams.greedy(maxTokens.get(i)));
            }
            Map<String, List<Integer>> out = drain(core);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(alone.apply(prompts.get(i), maxTokens.get(i)), ints(out.get("r" + i + "/0")),
                        label + ": prompt " + i + " of length " + prompts.get(i).length + " in " + core);
            }
            assertNothingHeld(core);
        }
    }

    static void assertNothingHeld(EngineCore core) {
        EngineStats s = core.stats();
        assertFalse(core.hasUnfinished());
        assertEquals(0, s.blocksInUse(), "blocks leaked: " + s);
        assertEquals(0, s.stateSlotsInUse(), "state slots leaked: " + s);
        assertEquals(0, s.running() + s.waiting(), s.toString());
    }

    /** Options whose KV cache holds exactly {@code blocks} blocks of 16 (plus the state of every sequence). */
    static EngineOptions tightPool(String arch, int blocks, int maxNumSeqs) {
        var ctx = model(arch).context();
        long bytes = blocks * ModelRunner.kvBytesPerBlock(ctx, 16) + maxNumSeqs * ModelRunner.stateBytesPerSlot(ctx);
        return EngineOptions.defaults().withMaxModelLen(64).withMaxNumSeqs(maxNumSeqs).withKvCacheMemoryBytes(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "bamba"})
    void promptsGeneratedTogetherEqualEachGeneratedAlone(String arch) {
        qt().withExamples(6).withShrinkCycles(10)
                .forAll(integers().between(0, 1 << 20), integers().between(3, 64), integers().between(1, 5))
                .checkAssert((seed, budget, maxSeqs) -> {
                    Workload w = Workload.random(new Random(seed), 5, 40, 10);
                    EngineOptions o = EngineOptions.defaults().withMaxModelLen(64).withMaxNumBatchedTokens(budget)
                            .withMaxNumSeqs(maxSeqs);
                    try (EngineCore core = engine(arch, o)) {
                        w.checkAgainstAlone(arch, core);
                    }
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "mixtral", "mamba2"})
    void slidingWindowMoeAndPureSsmModelsBatchToo(String arch) {
        Workload w = Workload.random(new Random(arch.hashCode()), 4, 48, 8); // longer than gemma2's window of 8
        try (EngineCore core = engine(arch, EngineOptions.defaults().withMaxModelLen(64).withMaxNumBatchedTokens(20))) {
            w.checkAgainstAlone(arch, core);
        }
    }

    @Test
    void aKvBudgetGivenAsAShareOfMemoryScalesThePool() {
        long capacity = CPU.memoryCapacity();
        assertTrue(capacity > 0, "the CPU backend reports physical memory");
        double f = (64L << 20) / (double) capacity; // about 64 MiB
        int small, large;
        try (EngineCore a = engine("llama", EngineOptions.defaults().withKvCacheMemoryFraction(f));
             EngineCore b = engine("llama", EngineOptions.defaults().withKvCacheMemoryFraction(2 * f))) {
            small = a.stats().totalBlocks();
            large = b.stats().totalBlocks();
            // host memory: the process's resident set measures the model, not a device counter
            assertEquals(-1, a.stats().modelDeviceBytes());
            assertNull(a.stats().deviceMemory());
        }
        assertTrue(small > 0 && Math.abs(large - 2 * small) <= 2, small + " blocks, then " + large);
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.defaults().withKvCacheMemoryFraction(1.5));
    }

    @Test
    void aPrefixCacheHitSkipsTheCachedTokensAndGivesTheSameOutput() {
        Random r = new Random(5);
        int[] first = randomPrompt(r, 40);
        int[] second = Arrays.copyOf(first, 45);
        System.arraycopy(randomPrompt(r, 10), 0, second, 35, 10); // shares 35 tokens: two full blocks
        try (EngineCore core = engine("llama", EngineOptions.defaults().withMaxModelLen(64))) {
            core.addRequest("first", first, SamplingParams.greedy(4));
            drain(core);
            EngineStats before = core.stats();
            assertEquals(40, before.promptTokensComputed());
            assertEquals(0, before.cachedTokens());

            core.addRequest("second", second, SamplingParams.greedy(6));
            Map<String, List<Integer>> out = drain(core);
            EngineStats after = core.stats();
            assertEquals(32, after.cachedTokens() - before.cachedTokens(), "two blocks of 16 served from the cache");
            assertEquals(45 - 32, after.promptTokensComputed() - before.promptTokensComputed(), "only the rest computed");
            assertArrayEquals(reference("llama", second, 6), ints(out.get("second/0")));

            core.addRequest("again", first, SamplingParams.greedy(4)); // the same prompt: its last token is recomputed
            drain(core);
            assertEquals(32, core.stats().cachedTokens() - after.cachedTokens());
            assertNothingHeld(core);
        }
    }

    @Test
    void prefixCachingIsOffForStatefulModelsAndCannotBeForcedOn() {
        Random r = new Random(6);
        int[] p = randomPrompt(r, 40);
        try (EngineCore core = engine("bamba", EngineOptions.defaults().withMaxModelLen(64))) {
            core.addRequest("a", p, SamplingParams.greedy(2));
            drain(core);
            core.addRequest("b", p, SamplingParams.greedy(2));
            drain(core);
            assertEquals(0, core.stats().cachedTokens());
            assertEquals(80, core.stats().promptTokensComputed());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> engine("bamba", EngineOptions.defaults().withPrefixCaching(true)));
        assertTrue(e.getMessage().contains("prefix caching is not supported for models with stateful layers"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "bamba"})
    void aRunForcedToPreemptGivesTheSameOutput(String arch) {
        Random r = new Random(7);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            prompts.add(randomPrompt(r, 10 + r.nextInt(25)));
        }
        Workload w = new Workload(prompts, List.of(20, 14, 25, 9, 18));
        try (EngineCore core = engine(arch, tightPool(arch, 5, 4))) { // 80 token slots for ~200 tokens of sequences
            w.checkAgainstAlone(arch, core);
            assertTrue(core.stats().preemptions() > 0, core.stats().toString());
        }
    }

    @Test
    void randomTightPoolsAndBudgetsNeverChangeTheOutput() {
        qt().withExamples(6).withShrinkCycles(10)
                .forAll(integers().between(0, 1 << 20), integers().between(4, 8), integers().between(2, 48))
                .checkAssert((seed, blocks, budget) -> {
                    Workload w = Workload.random(new Random(seed), 5, 40, 20);
                    try (EngineCore core = engine("llama", tightPool("llama", blocks, 4).withMaxNumBatchedTokens(budget))) {
                        w.checkAgainstAlone("llama", core);
                    }
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "bamba"})
    void abortFreesEverythingAndLeavesTheOthersIntact(String arch) {
        Random r = new Random(8);
        int[] keep = randomPrompt(r, 30);
        try (EngineCore core = engine(arch, EngineOptions.defaults().withMaxModelLen(64).withMaxNumBatchedTokens(16)
                .withMaxNumSeqs(2))) {
            core.addRequest("keep", keep, SamplingParams.greedy(12));
            core.addRequest("running", randomPrompt(r, 20), SamplingParams.greedy(30));
            core.addRequest("waiting", randomPrompt(r, 20), SamplingParams.greedy(30));
            Map<String, List<Integer>> out = new HashMap<>();
            for (int i = 0; i < 4; i++) {
                collect(core.step(), out);
            }
            assertEquals(2, core.stats().running());
            List<CompletionDelta> aborted = core.abort("running");
            assertEquals(1, aborted.size());
            assertEquals(FinishReason.ABORT, aborted.get(0).finishReason());
            assertEquals(FinishReason.ABORT, core.abort("waiting").get(0).finishReason());
            assertTrue(core.abort("waiting").isEmpty(), "a second abort finds nothing");
            assertTrue(core.abort("unknown").isEmpty());
            collect(drainDeltas(core), out);
            assertArrayEquals(reference(arch, keep, 12), ints(out.get("keep/0")));
            assertNothingHeld(core);
        }
    }

    static void collect(List<CompletionDelta> deltas, Map<String, List<Integer>> out) {
        for (CompletionDelta d : deltas) {
            List<Integer> l = out.computeIfAbsent(d.requestId() + "/" + d.index(), k -> new ArrayList<>());
            for (int t : d.newTokenIds()) {
                l.add(t);
            }
        }
    }

    static List<CompletionDelta> drainDeltas(EngineCore core) {
        List<CompletionDelta> all = new ArrayList<>();
        while (core.hasUnfinished()) {
            all.addAll(core.step());
        }
        return all;
    }
}
