package dev.jvllm.engine.core;

import static dev.jvllm.engine.core.EngineFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.runtime.SimpleRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** What the engine returns per completion: finish reasons, seeds, n, logprobs, and request validation. */
class EngineOutputsTest {
    static final EngineOptions OPTIONS = EngineOptions.defaults().withMaxModelLen(64);

    /** All deltas of one request run alone, in order. */
    static List<CompletionDelta> run(EngineCore core, int[] prompt, SamplingParams p) {
        core.addRequest("x", prompt, p);
        List<CompletionDelta> all = new ArrayList<>();
        while (core.hasUnfinished()) {
            all.addAll(core.step());
        }
        return all;
    }

    static int[] tokens(List<CompletionDelta> deltas, int index) {
        return deltas.stream().filter(d -> d.index() == index).flatMapToInt(d -> Arrays.stream(d.newTokenIds())).toArray();
    }

    static CompletionDelta last(List<CompletionDelta> deltas, int index) {
        return deltas.stream().filter(d -> d.index() == index).reduce((a, b) -> b).orElseThrow();
    }

    /** The first index i >= from whose token does not occur before it. */
    static int firstNew(int[] t, int from) {
        for (int i = from; i < t.length; i++) {
            int x = t[i];
            if (Arrays.stream(t, 0, i).noneMatch(y -> y == x)) {
                return i;
            }
        }
        throw new AssertionError("no fresh token in " + Arrays.toString(t));
    }

    @Test
    void maxTokensEndsWithLengthAndMaxModelLenCapsAnUnlimitedRequest() {
        int[] prompt = randomPrompt(new Random(1), 10);
        try (EngineCore core = engine("llama", OPTIONS)) {
            List<CompletionDelta> d = run(core, prompt, SamplingParams.greedy(7));
            assertEquals(7, tokens(d, 0).length);
            assertEquals(FinishReason.LENGTH, last(d, 0).finishReason());
            assertNull(last(d, 0).stopReason());
            assertEquals(7, d.size(), "one delta per generated token");
        }
        try (EngineCore core = engine("llama", EngineOptions.defaults().withMaxModelLen(16))) {
            List<CompletionDelta> d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(null).build());
            assertEquals(6, tokens(d, 0).length, "10 prompt tokens + 6 = max_model_len 16");
            assertEquals(FinishReason.LENGTH, last(d, 0).finishReason());
        }
    }

    @Test
    void stopTokenIdsAndEosEndTheCompletionWithTheTokenKept() {
        int[] prompt = randomPrompt(new Random(2), 12);
        int[] free = reference("llama", prompt, 16);
        int k = firstNew(free, 3);
        int stopId = free[k];
        try (EngineCore core = engine("llama", OPTIONS)) {
            List<CompletionDelta> d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(16)
                    .stopTokenIds(stopId).build());
            assertArrayEquals(Arrays.copyOf(free, k + 1), tokens(d, 0));
            assertEquals(FinishReason.STOP, last(d, 0).finishReason());
            assertEquals(stopId, last(d, 0).stopReason());
        }
        try (EngineCore core = engine("llama", OPTIONS, stopId)) { // the primary EOS: no stop reason
            List<CompletionDelta> d = run(core, prompt, SamplingParams.greedy(16));
            assertArrayEquals(Arrays.copyOf(free, k + 1), tokens(d, 0));
            assertEquals(FinishReason.STOP, last(d, 0).finishReason());
            assertNull(last(d, 0).stopReason());
            d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(16).ignoreEos(true).build());
            assertArrayEquals(free, tokens(d, 0), "ignore_eos generates through EOS");
        }
        try (EngineCore core = engine("llama", OPTIONS, 1, stopId)) { // generation_config's extra EOS ids stop as stop ids
            List<CompletionDelta> d = run(core, prompt, SamplingParams.greedy(16));
            assertEquals(k + 1, tokens(d, 0).length);
            assertEquals(stopId, last(d, 0).stopReason());
        }
    }

    @Test
    void aStopStringEndsTheCompletionAndCutsItsText() throws Exception {
        Tokenizer tok = Tokenizer.load(Path.of("src/test/resources/tokenizers/bytelevel"));
        int[] prompt = randomPrompt(new Random(8), 10);
        try (EngineCore core = EngineCore.create(model("llama"), tok, List.of(), OPTIONS)) {
            List<CompletionDelta> free = run(core, prompt, SamplingParams.greedy(24));
            String text = free.stream().map(CompletionDelta::text).collect(Collectors.joining());
            int at = -1;
            for (int i = 3; i + 2 <= text.length() && at < 0; i++) {
                String s = text.substring(i, i + 2);
                if (text.indexOf(s) == i && !s.contains("\uFFFD")) {
                    at = i;
                }
            }
            assertTrue(at > 0, "no usable stop string in " + text);
            String stop = text.substring(at, at + 2);
            List<CompletionDelta> d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(24).stop(stop)
                    .build());
            assertEquals(text.substring(0, at), d.stream().map(CompletionDelta::text).collect(Collectors.joining()));
            assertEquals(FinishReason.STOP, last(d, 0).finishReason());
            assertEquals(stop, last(d, 0).stopReason());
            int[] ids = tokens(d, 0);
            assertTrue(ids.length < 24);
            assertArrayEquals(Arrays.copyOf(tokens(free, 0), ids.length), ids, "the token ids up to the stop are kept");
        }
    }

    @Test
    void minTokensForbidsStopIdsAndEosUntilReached() {
        int[] prompt = randomPrompt(new Random(3), 12);
        int[] free = reference("llama", prompt, 16);
        int k = firstNew(free, 2);
        try (EngineCore core = engine("llama", OPTIONS, free[k])) {
            List<CompletionDelta> d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(16)
                    .minTokens(k + 3).build());
            int[] got = tokens(d, 0);
            assertTrue(got.length >= k + 3, Arrays.toString(got));
            for (int i = 0; i < k + 2; i++) {
                assertNotEquals(free[k], got[i], "EOS at " + i + " before min_tokens");
            }
            assertArrayEquals(Arrays.copyOf(free, k), Arrays.copyOf(got, k), "the same up to the masked EOS");
        }
    }

    @Test
    void aSeededRequestIsReproducibleAndIndependentOfTheBatch() {
        Random r = new Random(4);
        int[] prompt = randomPrompt(r, 9);
        SamplingParams p = SamplingParams.builder().temperature(1.0).topK(50).seed(1234L).maxTokens(12).build();
        int[] alone;
        try (EngineCore core = engine("llama", OPTIONS)) {
            alone = tokens(run(core, prompt, p), 0);
        }
        try (EngineCore core = engine("llama", OPTIONS.withMaxNumBatchedTokens(7))) {
            for (int i = 0; i < 3; i++) {
                core.addRequest("other" + i, randomPrompt(r, 20), SamplingParams.builder().temperature(0.8).maxTokens(9).build());
            }
            core.addRequest("seeded", prompt, p);
            assertArrayEquals(alone, ints(drain(core).get("seeded/0")));
        }
        try (EngineCore core = engine("llama", OPTIONS)) {
            int[] otherSeed = tokens(run(core, prompt, p.toBuilder().seed(99L).build()), 0);
            assertFalse(Arrays.equals(alone, otherSeed), "another seed draws another completion");
        }
    }

    @Test
    void nCompletionsUseSeedPlusIndex() {
        int[] prompt = randomPrompt(new Random(5), 9);
        SamplingParams p = SamplingParams.builder().temperature(1.0).seed(50L).maxTokens(10).build();
        try (EngineCore core = engine("llama", OPTIONS)) {
            List<CompletionDelta> d = run(core, prompt, p.toBuilder().n(3).build());
            List<int[]> completions = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                completions.add(tokens(d, i));
                assertEquals(FinishReason.LENGTH, last(d, i).finishReason());
                int[] single = tokens(run(core, prompt, p.toBuilder().seed(50L + i).build()), 0);
                assertArrayEquals(single, completions.get(i), "completion " + i + " = the request with seed 50 + " + i);
            }
            assertFalse(Arrays.equals(completions.get(0), completions.get(1)));
            EngineCoreTest.assertNothingHeld(core);
        }
    }

    /** log_softmax of each row of [rows × V] logits. */
    static double[][] logSoftmax(float[] logits, int v) {
        int rows = logits.length / v;
        double[][] out = new double[rows][v];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < v; i++) {
                max = Math.max(max, logits[r * v + i]);
            }
            double sum = 0;
            for (int i = 0; i < v; i++) {
                sum += Math.exp(logits[r * v + i] - max);
            }
            for (int i = 0; i < v; i++) {
                out[r][i] = logits[r * v + i] - max - Math.log(sum);
            }
        }
        return out;
    }

    static void assertLogprobs(double[] want, TokenLogprobs got, int n, int token) {
        assertEquals(token, got.chosen().tokenId());
        assertEquals(want[token], got.chosen().logprob(), 1e-4);
        long atLeast = Arrays.stream(want).filter(x -> x >= want[token]).count();
        assertEquals(atLeast, got.chosen().rank());
        assertEquals(n, got.top().size());
        Integer[] order = new Integer[want.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(want[b], want[a]));
        for (int j = 0; j < n; j++) {
            assertEquals(order[j], got.top().get(j).tokenId());
            assertEquals(want[order[j]], got.top().get(j).logprob(), 1e-4);
            assertEquals(j + 1, got.top().get(j).rank());
        }
    }

    @Test
    void logprobsAndPromptLogprobsAreTheLogSoftmaxOfTheModelsLogits() {
        Random r = new Random(6);
        int[] prompt = randomPrompt(r, 21);
        SamplingParams p = SamplingParams.builder().temperature(0.9).seed(3L).maxTokens(8).logprobs(3).promptLogprobs(2)
                .repetitionPenalty(1.3).build(); // penalties change sampling, not the reported (raw) logprobs
        try (EngineCore core = engine("llama", OPTIONS.withMaxNumBatchedTokens(8))) { // prompt in chunks
            core.addRequest("warm", prompt, SamplingParams.greedy(1)); // fills the prefix cache: must not be read
            drain(core);
            List<CompletionDelta> d = run(core, prompt, p);
            int[] out = tokens(d, 0);
            int[] all = Arrays.copyOf(prompt, prompt.length + out.length);
            System.arraycopy(out, 0, all, prompt.length, out.length);
            double[][] want;
            try (SimpleRunner sr = new SimpleRunner(model("llama"), all.length)) {
                want = logSoftmax(sr.promptLogits(all), core.vocabSize());
            }
            List<TokenLogprobs> lps = d.stream().flatMap(x -> x.logprobs().stream()).toList();
            assertEquals(out.length, lps.size());
            for (int i = 0; i < out.length; i++) {
                assertLogprobs(want[prompt.length - 1 + i], lps.get(i), 3, out[i]);
            }
            List<TokenLogprobs> plp = d.get(0).promptLogprobs();
            assertEquals(prompt.length, plp.size());
            assertNull(plp.get(0), "the first prompt token has no logprob");
            for (int i = 1; i < prompt.length; i++) {
                assertLogprobs(want[i - 1], plp.get(i), 2, prompt[i]);
            }
            assertTrue(d.stream().skip(1).allMatch(x -> x.promptLogprobs() == null), "prompt logprobs come once");
        }
    }

    @Test
    void logprobsMinusOneIsTheWholeVocabularyWhenAllowed() {
        int[] prompt = randomPrompt(new Random(7), 5);
        try (EngineCore core = engine("llama", OPTIONS.withMaxLogprobs(-1))) {
            List<CompletionDelta> d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(1).logprobs(-1)
                    .build());
            assertEquals(384, d.get(0).logprobs().get(0).top().size());
            assertEquals(1, d.get(0).logprobs().get(0).chosen().rank(), "greedy picks the most likely");
        }
    }

    @Test
    void logprobsZeroReportsOnlyTheChosenToken() {
        int[] prompt = randomPrompt(new Random(10), 5);
        try (EngineCore core = engine("llama", OPTIONS)) {
            List<CompletionDelta> d = run(core, prompt, SamplingParams.builder().temperature(0).maxTokens(3).logprobs(0)
                    .promptLogprobs(0).build());
            for (CompletionDelta x : d) {
                assertEquals(1, x.logprobs().size());
                assertTrue(x.logprobs().get(0).top().isEmpty());
                assertEquals(x.newTokenIds()[0], x.logprobs().get(0).chosen().tokenId());
                assertEquals(1, x.logprobs().get(0).chosen().rank());
            }
            assertEquals(5, d.get(0).promptLogprobs().size());
            assertTrue(d.get(0).promptLogprobs().get(1).top().isEmpty());
        }
    }

    @Test
    void invalidRequestsAreRejectedWithClearMessagesAndChangeNothing() {
        try (EngineCore core = engine("llama", OPTIONS)) {
            record Case(int[] prompt, SamplingParams p, String message) {
            }
            List<Case> cases = List.of(
                    new Case(new int[0], SamplingParams.defaults(), "the prompt is empty"),
                    new Case(new int[] {1, 384}, SamplingParams.defaults(),
                            "prompt token 384 at position 1 is outside the model's vocabulary [0, 384)"),
                    new Case(new int[65], SamplingParams.defaults(), "the prompt (length 65) is longer than the maximum model length of 64"),
                    new Case(new int[] {1}, SamplingParams.builder().logprobs(21).build(),
                            "requested logprobs of 21, which is greater than max allowed: 20"),
                    new Case(new int[] {1}, SamplingParams.builder().promptLogprobs(-1).build(),
                            "requested prompt_logprobs of 384, which is greater than max allowed: 20"),
                    new Case(new int[] {1}, SamplingParams.builder().stopTokenIds(5, 400).build(),
                            "out-of-vocab token id 400"),
                    new Case(new int[] {1}, SamplingParams.builder().stop("end").build(), "stop strings need a tokenizer"));
            for (Case c : cases) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> core.addRequest("bad", c.prompt(), c.p()));
                assertTrue(e.getMessage().contains(c.message()), e.getMessage() + " should contain: " + c.message());
                assertTrue(e.getMessage().contains("bad"), "names the request: " + e.getMessage());
            }
            assertFalse(core.hasUnfinished());
            core.addRequest("ok", new int[] {1, 2}, SamplingParams.greedy(1));
            IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                    () -> core.addRequest("ok", new int[] {1}, SamplingParams.greedy(1)));
            assertTrue(dup.getMessage().contains("request id \"ok\" is already in use"));
            Map<String, List<Integer>> out = drain(core);
            assertEquals(1, out.get("ok/0").size());
        }
    }

    @Test
    void engineOptionsThatCannotWorkAreRejected() {
        var ctx = model("llama").context();
        long block = ModelRunner.kvBytesPerBlock(ctx, 16);
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> engine("llama",
                EngineOptions.defaults().withMaxModelLen(64).withKvCacheMemoryBytes(3 * block)));
        assertTrue(small.getMessage().contains("the KV cache holds 48 tokens (3 blocks of 16"), small.getMessage());
        assertTrue(small.getMessage().contains("raise kvCacheMemoryBytes or lower maxModelLen"));
        try (EngineCore fit = engine("llama", EngineOptions.defaults().withKvCacheMemoryBytes(3 * block))) {
            assertEquals(48, fit.maxModelLen(), "an unset max_model_len shrinks to what the cache holds");
        }
        IllegalArgumentException longer = assertThrows(IllegalArgumentException.class,
                () -> engine("llama", EngineOptions.defaults().withMaxModelLen(300)));
        assertTrue(longer.getMessage().contains("maxModelLen=300 is larger than the model's 256"), longer.getMessage());
        IllegalArgumentException budget = assertThrows(IllegalArgumentException.class, () -> engine("llama",
                EngineOptions.defaults().withMaxModelLen(64).withChunkedPrefill(false).withMaxNumBatchedTokens(32)));
        assertTrue(budget.getMessage().contains("without chunked prefill"), budget.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.defaults().withDtype("fp8"));
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.defaults().withMaxNumSeqs(0));
    }
}
