package dev.jvllm.engine.core;

import static dev.jvllm.engine.core.EngineFixtures.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Async scheduling ({@link EngineOptions#asyncScheduling}): launching a decode step before the one
 * in flight is read back (the first decode from the step that ends its prompt) changes when outputs
 * arrive, never what they are. Every completion gets the
 * tokens, finish reason, stop reason and logprobs of the synchronous engine, whatever the mix of
 * greedy, seeded and unseeded sampling, EOS and stop ids, min_tokens, logprob requests (which run
 * synchronously), late arrivals, tight pools and aborts; and nothing leaks.
 */
class AsyncSchedulingTest {

    /** A completion's whole output, from its deltas. */
    record Completion(List<Integer> tokens, FinishReason finish, Object stopReason, List<Integer> logprobTokens) {
    }

    /** A request of a workload and the step (of the synchronous engine's numbering) before which it arrives. */
    record Req(String id, int[] prompt, SamplingParams params, int arrival) {
    }

    private static Map<String, Completion> run(String arch, EngineOptions o, List<Req> reqs, int eos, boolean async,
            long[] chained) {
        return run(opts -> engine(arch, opts, eos), o, reqs, async, chained);
    }

    /** Runs the requests, each added before its arrival step (or when the engine ran dry), to the end. */
    static Map<String, Completion> run(java.util.function.Function<EngineOptions, EngineCore> engine, EngineOptions o,
            List<Req> reqs, boolean async, long[] chained) {
        Map<String, List<Integer>> tokens = new LinkedHashMap<>();
        Map<String, List<Integer>> lpTokens = new LinkedHashMap<>();
        Map<String, Completion> done = new LinkedHashMap<>();
        try (EngineCore core = engine.apply(o.withAsyncScheduling(async))) {
            int step = 0, next = 0, guard = 0;
            while (next < reqs.size() || core.hasUnfinished()) {
                while (next < reqs.size() && (reqs.get(next).arrival() <= step || !core.hasUnfinished())) {
                    Req r = reqs.get(next++);
                    core.addRequest(r.id(), r.prompt(), r.params());
                }
                for (CompletionDelta d : core.step()) {
                    String key = d.requestId() + "/" + d.index();
                    List<Integer> t = tokens.computeIfAbsent(key, k -> new ArrayList<>());
                    for (int id : d.newTokenIds()) {
                        t.add(id);
                    }
                    if (d.logprobs() != null) {
                        for (TokenLogprobs lp : d.logprobs()) {
                            lpTokens.computeIfAbsent(key, k -> new ArrayList<>()).add(lp.chosen().tokenId());
                        }
                    }
                    if (d.finished()) {
                        assertNull(done.put(key, new Completion(t, d.finishReason(), d.stopReason(), lpTokens.get(key))),
                                key + " finished twice");
                    }
                }
                step++;
                if (++guard > 100_000) {
                    throw new AssertionError("engine does not finish");
                }
            }
            EngineCoreTest.assertNothingHeld(core);
            chained[0] += core.chainedSteps();
        }
        return done;
    }

    static SamplingParams randomParams(Random r, int maxTokens) {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(maxTokens);
        switch (r.nextInt(6)) {
            case 0, 1 -> b.temperature(0);
            case 2 -> b.temperature(0.9).seed((long) r.nextInt(1000));
            case 3 -> b.temperature(0.7).topK(20); // unseeded: the engine's seeds, drawn in arrival order
            case 4 -> b.temperature(0).minTokens(1 + r.nextInt(maxTokens));
            default -> b.temperature(0).logprobs(2); // logprobs need the host: these steps run synchronously
        }
        if (r.nextInt(3) == 0) {
            b.stopTokenIds(3 + r.nextInt(380), 3 + r.nextInt(380));
        }
        if (r.nextInt(5) == 0) {
            b.n(2).seed((long) r.nextInt(1000)).temperature(0.8);
        }
        return b.build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "bamba"})
    void asyncScheduledRunsGiveEveryCompletionTheSynchronousOutput(String arch) {
        long[] chained = {0};
        qt().withExamples(8).withShrinkCycles(5)
                .forAll(integers().between(0, 1 << 20), integers().between(1, 4), integers().between(0, 3))
                .checkAssert((seed, maxSeqs, pool) -> {
                    Random r = new Random(seed);
                    List<Req> reqs = new ArrayList<>();
                    int n = 1 + r.nextInt(5);
                    for (int i = 0; i < n; i++) {
                        reqs.add(new Req("r" + i, randomPrompt(r, 1 + r.nextInt(30)), randomParams(r, 1 + r.nextInt(24)),
                                i == 0 ? 0 : r.nextInt(12)));
                    }
                    reqs.sort(java.util.Comparator.comparingInt(Req::arrival));
                    // EOS: a token the vocabulary has, often produced by these random models or not at all
                    int eos = 3 + r.nextInt(380);
                    EngineOptions o = pool == 0 ? EngineCoreTest.tightPool(arch, 6, maxSeqs)
                            : EngineOptions.defaults().withMaxModelLen(64).withMaxNumSeqs(maxSeqs)
                                    .withMaxNumBatchedTokens(8 + r.nextInt(40));
                    Map<String, Completion> sync = run(arch, o, reqs, eos, false, new long[1]);
                    Map<String, Completion> async = run(arch, o, reqs, eos, true, chained);
                    assertEquals(sync, async, "seed " + seed + ", " + maxSeqs + " sequences, pool " + pool);
                });
        assertTrue(chained[0] > 0, "no step was launched ahead of the one in flight");
    }

    @Test
    void aGreedyDecodeRunsAheadAndEndsByEosOrLengthAsTheSynchronousEngine() {
        int[] prompt = randomPrompt(new Random(11), 12);
        int[] want = reference("llama", prompt, 20);
        int eos = want[9]; // the tenth token ends the completion (or an earlier equal one does)
        int end = 0;
        while (want[end] != eos) {
            end++;
        }
        for (int max : new int[] {1, 2, 5, 20}) {
            List<Req> reqs = List.of(new Req("a", prompt, SamplingParams.greedy(max), 0));
            long[] chained = {0};
            Map<String, Completion> got = run("llama", EngineOptions.defaults().withMaxModelLen(64), reqs, eos, true,
                    chained);
            Completion c = got.get("a/0");
            int len = Math.min(max, end + 1);
            assertEquals(java.util.Arrays.stream(want, 0, len).boxed().toList(), c.tokens(), "max_tokens " + max);
            assertEquals(max <= end ? FinishReason.LENGTH : FinishReason.STOP, c.finish(), "max_tokens " + max);
            // every decode is chained, the first from the prefill; a length end is foreseen (no step past
            // it), EOS is not: one step runs past it and its row is dropped
            assertEquals(max <= end ? len - 1 : len, chained[0], "chained steps at max_tokens " + max);
        }
    }

    @Test
    void aPromptsStepLaunchesTheFirstDecodeBeforeItsTokenIsRead() {
        int[] prompt = randomPrompt(new Random(14), 9);
        int[] want = reference("llama", prompt, 6);
        try (EngineCore core = engine("llama", EngineOptions.defaults().withMaxModelLen(64).withAsyncScheduling(true))) {
            core.addRequest("a", prompt, SamplingParams.greedy(6));
            List<CompletionDelta> first = core.step(); // the prompt: its token comes back, the first decode is in flight
            assertEquals(1, first.size());
            assertArrayEquals(new int[] {want[0]}, first.get(0).newTokenIds());
            assertEquals(1, core.chainedSteps(), "the first decode was launched from the prompt's step");
            Map<String, List<Integer>> out = new LinkedHashMap<>();
            EngineCoreTest.collect(first, out);
            EngineCoreTest.collect(EngineCoreTest.drainDeltas(core), out);
            assertEquals(java.util.Arrays.stream(want).boxed().toList(), out.get("a/0"));
            EngineCoreTest.assertNothingHeld(core);
        }
        // prompt logprobs need the host: that step runs synchronously, and the decodes chain from the first on
        try (EngineCore core = engine("llama", EngineOptions.defaults().withMaxModelLen(64).withAsyncScheduling(true))) {
            core.addRequest("a", prompt, SamplingParams.builder().temperature(0).maxTokens(6).promptLogprobs(1).build());
            core.step();
            assertEquals(0, core.chainedSteps(), "a step with prompt logprobs chained");
            EngineCoreTest.drainDeltas(core);
            EngineCoreTest.assertNothingHeld(core);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "bamba"})
    void anAbortWhileAStepIsInFlightFreesEverythingAndLeavesTheOthersIntact(String arch) {
        Random r = new Random(12);
        int[] keep = randomPrompt(r, 20);
        int[] drop = randomPrompt(r, 15);
        try (EngineCore core = engine(arch, EngineOptions.defaults().withMaxModelLen(64).withAsyncScheduling(true))) {
            core.addRequest("keep", keep, SamplingParams.greedy(16));
            core.addRequest("drop", drop, SamplingParams.greedy(30));
            Map<String, List<Integer>> out = new LinkedHashMap<>();
            for (int i = 0; i < 5; i++) {
                EngineCoreTest.collect(core.step(), out);
            }
            assertTrue(core.chainedSteps() > 0, "a step is in flight");
            List<CompletionDelta> aborted = core.abort("drop");
            assertEquals(1, aborted.size());
            assertEquals(FinishReason.ABORT, aborted.get(0).finishReason());
            EngineCoreTest.collect(EngineCoreTest.drainDeltas(core), out);
            assertEquals(java.util.Arrays.stream(reference(arch, keep, 16)).boxed().toList(), out.get("keep/0"));
            List<Integer> partial = out.get("drop/0");
            int[] full = reference(arch, drop, 30);
            assertEquals(java.util.Arrays.stream(full, 0, partial.size()).boxed().toList(), partial,
                    "the aborted completion's tokens are a prefix of its run alone");
            EngineCoreTest.assertNothingHeld(core);
        }
    }

    @Test
    void closingWithAStepInFlightReleasesIt() {
        try (EngineCore core = engine("llama", EngineOptions.defaults().withMaxModelLen(64).withAsyncScheduling(true))) {
            core.addRequest("a", randomPrompt(new Random(13), 10), SamplingParams.greedy(20));
            for (int i = 0; i < 4; i++) {
                core.step();
            }
            assertTrue(core.chainedSteps() > 0);
        } // close() with a step in flight: its tensors and read are released (no exception, no leak report)
    }
}
