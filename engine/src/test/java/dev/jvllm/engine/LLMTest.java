package dev.jvllm.engine;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.engine.core.CompletionDelta;
import dev.jvllm.engine.core.EngineOptions;
import dev.jvllm.engine.core.FinishReason;
import dev.jvllm.engine.core.SamplingParams;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The facade over a model directory made of the llama fixture (vocab 384) and the byte-level test
 * tokenizer (its ids below 384 are single bytes and short merges).
 */
class LLMTest {
    static final Path FIXTURE = Path.of("../models/src/test/resources/fixtures/llama");
    static final Path TOKENIZER = Path.of("src/test/resources/tokenizers/bytelevel");
    static final List<String> PROMPTS = List.of("Hi!", "A cat", "Tea? Yes.", "Go on");
    static final EngineOptions OPTIONS = EngineOptions.defaults().withMaxModelLen(64);

    @TempDir
    static Path dir;
    static LLM llm;
    static Tokenizer tok;

    @BeforeAll
    static void setUp() throws Exception {
        Files.copy(FIXTURE.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(FIXTURE.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.copy(TOKENIZER.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(TOKENIZER.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("generation_config.json"), """
                {"temperature": 0.7, "top_k": 20, "max_new_tokens": 9, "eos_token_id": [1, 3]}""");
        tok = Tokenizer.load(dir);
        for (String p : PROMPTS) {
            assertTrue(Arrays.stream(tok.encode(p, true)).allMatch(id -> id < 384), p + " encodes inside the model's vocab");
        }
        llm = LLM.load(dir, OPTIONS);
    }

    @AfterAll
    static void tearDown() {
        if (llm != null) {
            llm.close();
        }
    }

    /** The model layer's greedy continuation of the prompt's ids, alone. */
    static int[] reference(int[] prompt, int n) {
        try (var cpu = CpuBackend.create();
             CausalLM m = ModelLoader.load(FIXTURE, cpu, ParallelConfig.single(), DType.F32, null);
             SimpleRunner r = new SimpleRunner(m, prompt.length + n)) {
            return r.greedy(prompt, n);
        }
    }

    /** The reference run up to (not past) EOS 1 or the generation_config EOS 3. */
    static int[] referenceUntilEos(int[] prompt, int n) {
        int[] ref = reference(prompt, n);
        for (int i = 0; i < ref.length; i++) {
            if (ref[i] == 1 || ref[i] == 3) {
                return Arrays.copyOf(ref, i + 1);
            }
        }
        return ref;
    }

    @Test
    void loadTakesADirectoryStringOrAHubIdAndRejectsOtherText() throws Exception {
        try (LLM llm = LLM.load("../default-model", EngineOptions.defaults().withMaxNumSeqs(2))) {
            assertEquals(Path.of("../default-model"), llm.modelDir());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LLM.load("no such dir, no hub id", EngineOptions.defaults()));
        assertTrue(e.getMessage().contains("no such dir, no hub id"), e.getMessage());
    }

    @Test
    void threeLinesGenerateText() {
        RequestOutput out = llm.generate("Hi!", SamplingParams.greedy(12));
        assertArrayEquals(referenceUntilEos(tok.encode("Hi!", true), 12), out.tokenIds());
        assertEquals("Hi!", out.prompt());
        assertArrayEquals(tok.encode("Hi!", true), out.promptTokenIds());
        assertNotNull(out.outputs().get(0).finishReason());
        assertTrue(out.outputs().get(0).cumulativeLogprob().isEmpty(), "no logprobs asked for");
        assertTrue(!out.timeToFirstToken().isNegative() && out.timeToFirstToken().compareTo(out.totalTime()) <= 0);
    }

    @Test
    void requestsFromSeveralThreadsAreBatchedAndEachEqualsItsRunAlone() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<RequestOutput>>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                futures.add(pool.submit(() -> llm.generate(PROMPTS, SamplingParams.greedy(10))));
            }
            for (Future<List<RequestOutput>> f : futures) {
                List<RequestOutput> outs = f.get();
                for (int i = 0; i < PROMPTS.size(); i++) {
                    assertArrayEquals(referenceUntilEos(tok.encode(PROMPTS.get(i), true), 10), outs.get(i).tokenIds(),
                            PROMPTS.get(i));
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, llm.stats().blocksInUse());
    }

    @Test
    void streamingDeltasAddUpToTheOutput() {
        SamplingParams p = SamplingParams.builder().temperature(0.8).seed(5L).maxTokens(12).logprobs(2).ignoreEos(true)
                .build();
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        RequestOutput out;
        try (TokenStream s = llm.stream(Prompt.of("A cat"), p)) {
            for (CompletionDelta d : s) {
                Arrays.stream(d.newTokenIds()).forEach(ids::add);
                text.append(d.text());
            }
            out = s.output();
        }
        assertArrayEquals(ids.stream().mapToInt(Integer::intValue).toArray(), out.tokenIds());
        assertEquals(12, out.tokenIds().length);
        assertEquals(text.toString(), out.text());
        CompletionOutput c = out.outputs().get(0);
        assertEquals(FinishReason.LENGTH, c.finishReason());
        double sum = c.logprobs().stream().mapToDouble(l -> l.chosen().logprob()).sum();
        assertEquals(sum, c.cumulativeLogprob().getAsDouble(), 1e-9);
        assertNotNull(c.logprobs().get(0).chosen().decodedToken());
        assertArrayEquals(out.tokenIds(), llm.generatePrompts(List.of(Prompt.of("A cat")), p).get(0).tokenIds(),
                "the same seed streams the same tokens");
    }

    /**
     * The engine thread generates while the consumer reads, so a descheduled consumer can see the
     * request end by length before its close arrives (a 40-token request of the tiny fixture takes a
     * few milliseconds): a stream that ended first is tried again, and an abort that never happens
     * fails after five tries.
     */
    @Test
    void closingAStreamEarlyAbortsItsRequest() {
        List<FinishReason> seen = new ArrayList<>();
        for (int attempt = 0; attempt < 5; attempt++) {
            TokenStream s = llm.stream(Prompt.ofTokens(5, 6, 7), SamplingParams.builder().temperature(0).maxTokens(40)
                    .ignoreEos(true).build());
            assertTrue(s.hasNext());
            s.next();
            s.close();
            RequestOutput out = s.output();
            assertEquals(0, llm.stats().blocksInUse());
            FinishReason reason = out.outputs().get(0).finishReason();
            seen.add(reason);
            if (reason == FinishReason.ABORT) {
                assertTrue(out.tokenIds().length < 40);
                return;
            }
            assertEquals(FinishReason.LENGTH, reason, "a stream not aborted ran to its length");
        }
        fail("closing a stream early never aborted it: " + seen);
    }

    /**
     * A background request whose listener records the thread and tokens of each delta, and holds the
     * stepping thread at its first delta until {@link #generateWhileHeld} has queued a caller's request:
     * so that request is queued before the engine steps again, whatever the scheduling.
     */
    private static final class HeldBackground {
        final java.util.concurrent.CountDownLatch first = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        final List<String> threads = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Integer> streamed = java.util.Collections.synchronizedList(new ArrayList<>());
        final RequestHandle handle;

        HeldBackground(int[] prompt, int maxTokens) throws InterruptedException {
            handle = llm.submit(Prompt.ofTokens(prompt), SamplingParams.builder().temperature(0).maxTokens(maxTokens)
                    .ignoreEos(true).build(), new OutputListener() {
                        @Override
                        public void onDelta(CompletionDelta d) {
                            threads.add(Thread.currentThread().getName());
                            Arrays.stream(d.newTokenIds()).forEach(streamed::add);
                            first.countDown();
                            try {
                                go.await(10, java.util.concurrent.TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    });
            assertTrue(first.await(10, java.util.concurrent.TimeUnit.SECONDS));
        }

        /** Greedy generate of {@code prompt} on a thread of {@code caller} while the step is held; its output. */
        RequestOutput generateWhileHeld(Thread.Builder caller, int[] prompt, int maxTokens) throws InterruptedException {
            List<RequestOutput> out = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread g = caller.start(() -> out.addAll(llm.generateFromTokens(List.of(prompt), SamplingParams.builder()
                    .temperature(0).maxTokens(maxTokens).ignoreEos(true).build())));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (llm.stats().waiting() == 0 && System.nanoTime() < deadline) { // the caller's request is queued
                Thread.onSpinWait();
            }
            go.countDown();
            g.join(java.time.Duration.ofSeconds(20));
            assertFalse(g.isAlive());
            return out.get(0);
        }
    }

    /**
     * A generate caller steps the engine while its request runs (every request in flight, so a
     * submitted one's listener hears from the caller's thread), then hands it back to the engine
     * thread, which finishes the rest; deltas stay in order across the hand-overs.
     */
    @Test
    void aGenerateCallerStepsTheEngineThenHandsItBack() throws Exception {
        int[] background = {7, 8, 9};
        HeldBackground held = new HeldBackground(background, 50);
        int[] prompt = tok.encode("Hi!", true);
        RequestOutput mine = held.generateWhileHeld(Thread.ofPlatform().name("generate-caller"), prompt, 10);
        assertArrayEquals(reference(prompt, 10), mine.tokenIds());
        RequestOutput bg = held.handle.result().get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertArrayEquals(reference(background, 50), bg.tokenIds());
        assertArrayEquals(bg.tokenIds(), held.streamed.stream().mapToInt(Integer::intValue).toArray(), "deltas in order");
        List<String> threads = held.threads;
        assertEquals("jvllm-engine", threads.get(0));
        assertTrue(threads.contains("generate-caller"), "the caller stepped the engine: " + threads);
        assertEquals("jvllm-engine", threads.get(threads.size() - 1), "the engine thread finished the rest: " + threads);
        assertEquals(0, llm.stats().blocksInUse());
    }

    /**
     * A listener that throws is reported and its request goes on: its result completes, the requests
     * stepped beside it too (a generate caller's among them), and the engine keeps working.
     */
    @Test
    void aThrowingListenerDoesNotStopItsRequestOrTheEngine() throws Exception {
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true));
        try {
            SamplingParams p = SamplingParams.builder().temperature(0).maxTokens(12).ignoreEos(true).build();
            RequestHandle h = llm.submit(Prompt.ofTokens(11, 12), p, new OutputListener() {
                @Override
                public void onDelta(CompletionDelta d) {
                    throw new IllegalStateException("listener failure on purpose");
                }

                @Override
                public void onFinished(RequestOutput output) {
                    throw new IllegalStateException("listener failure on purpose");
                }
            });
            int[] prompt = {13, 14, 15};
            RequestOutput mine = llm.generateFromTokens(List.of(prompt), p).get(0);
            assertArrayEquals(reference(prompt, 12), mine.tokenIds());
            assertArrayEquals(reference(new int[] {11, 12}, 12),
                    h.result().get(20, java.util.concurrent.TimeUnit.SECONDS).tokenIds());
        } finally {
            System.setErr(err);
        }
        assertTrue(captured.toString().contains("an OutputListener threw java.lang.IllegalStateException: listener failure"
                + " on purpose; the request goes on"), captured.toString());
        assertEquals(0, llm.stats().blocksInUse());
    }

    /** A virtual thread's generate is served by the engine thread, which steps every request meanwhile. */
    @Test
    void aVirtualThreadCallerLeavesTheSteppingToTheEngineThread() throws Exception {
        HeldBackground held = new HeldBackground(new int[] {7, 8, 9}, 30);
        int[] prompt = tok.encode("A cat", true);
        RequestOutput mine = held.generateWhileHeld(Thread.ofVirtual().name("virtual-caller"), prompt, 10);
        assertArrayEquals(reference(prompt, 10), mine.tokenIds());
        assertEquals(30, held.handle.result().get(20, java.util.concurrent.TimeUnit.SECONDS).tokenIds().length);
        assertTrue(held.threads.stream().allMatch("jvllm-engine"::equals), "only the engine thread stepped: "
                + held.threads);
    }

    /**
     * An interrupted generate caller stops stepping, aborts its requests and throws; the engine thread
     * goes on with the others. A caller whose request ends before the interrupt lands is tried again.
     * With tensor-parallel ranks the interrupt usually lands while the caller waits for them inside a
     * step, which must end normally (a step that failed would fail the engine).
     */
    @Test
    void anInterruptedCallerAbortsItsRequestsAndTheEngineGoesOn() throws Exception {
        interruptACaller(llm);
        try (LLM tp = LLM.load(FIXTURE, OPTIONS.withTensorParallelSize(2).withThreads(1))) {
            interruptACaller(tp);
            assertArrayEquals(reference(new int[] {9, 8}, 6), tp.generateFromTokens(List.of(new int[] {9, 8}),
                    SamplingParams.builder().temperature(0).maxTokens(6).ignoreEos(true).build()).get(0).tokenIds(),
                    "the engine still generates");
        }
    }

    private static void interruptACaller(LLM llm) throws Exception {
        for (int attempt = 0; attempt < 5; attempt++) {
            RequestHandle other = llm.submit(Prompt.ofTokens(3, 4), SamplingParams.builder().temperature(0).maxTokens(40)
                    .ignoreEos(true).build(), null);
            Throwable[] thrown = new Throwable[1];
            Thread g = Thread.ofPlatform().start(() -> {
                try {
                    llm.generateFromTokens(List.of(new int[] {5, 6}), SamplingParams.builder().temperature(0).maxTokens(55)
                            .ignoreEos(true).build());
                } catch (Throwable t) {
                    thrown[0] = t;
                }
            });
            while (llm.stats().running() + llm.stats().waiting() < 2 && g.isAlive()) {
                Thread.onSpinWait();
            }
            g.interrupt();
            g.join(20_000);
            assertFalse(g.isAlive());
            assertArrayEquals(reference(new int[] {3, 4}, 40), other.result().get(20, java.util.concurrent.TimeUnit.SECONDS)
                    .tokenIds(), "the other request ran to its end");
            assertEquals(0, llm.stats().blocksInUse());
            if (thrown[0] != null) {
                assertInstanceOf(CancellationException.class, thrown[0]);
                assertEquals("interrupted while generating", thrown[0].getMessage());
                return;
            }
        }
        fail("the caller's request always ended before its interrupt");
    }

    @Test
    void generationConfigGivesTheDefaultsAndItsEosIdsStop() {
        SamplingParams d = llm.defaultSamplingParams();
        assertEquals(0.7, d.temperature());
        assertEquals(20, d.topK());
        assertEquals(9, d.maxTokens().getAsInt());
        for (RequestOutput out : llm.generate(PROMPTS)) {
            CompletionOutput c = out.outputs().get(0);
            assertTrue(c.tokenIds().length <= 9);
            int last = c.tokenIds()[c.tokenIds().length - 1];
            if (last == 3) {
                assertEquals(FinishReason.STOP, c.finishReason());
                assertEquals(3, c.stopReason(), "an extra generation_config EOS stops like a stop token id");
            } else if (last == 1) {
                assertNull(c.stopReason(), "the tokenizer's EOS");
            } else {
                assertEquals(FinishReason.LENGTH, c.finishReason());
            }
        }
    }

    @Test
    void badInputIsThrownToTheCaller() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> llm.generatePrompts(List.of(Prompt.ofTokens(1, 2), Prompt.ofTokens(1, 999)), SamplingParams.greedy(2)));
        assertTrue(e.getMessage().contains("prompt token 999 at position 1 is outside the model's vocabulary"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> llm.generate("x", SamplingParams.builder().logprobs(50).build()));
        assertEquals(0, llm.stats().running() + llm.stats().waiting(), "nothing was left queued");
    }

    @Test
    void aModelWithoutTokenizerTakesTokenIdsAndTensorParallelRanksGiveTheSameTokens() throws Exception {
        try (LLM tp = LLM.load(FIXTURE, OPTIONS.withTensorParallelSize(2).withThreads(1))) {
            assertTrue(tp.tokenizer().isEmpty());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> tp.generate("text", SamplingParams.greedy(2)));
            assertTrue(e.getMessage().contains("has no tokenizer.json; pass Prompt.ofTokens"), e.getMessage());
            int[] prompt = {5, 17, 3, 99, 200};
            RequestOutput out = tp.generateFromTokens(List.of(prompt), SamplingParams.builder().temperature(0)
                    .maxTokens(8).ignoreEos(true).build()).get(0);
            assertArrayEquals(reference(prompt, 8), out.tokenIds());
            assertEquals("", out.text());
        }
    }

    @Test
    void closeFailsTheRequestsInFlight() throws Exception {
        LLM other = LLM.load(FIXTURE, OPTIONS);
        List<RequestHandle> handles = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            handles.add(other.submit(Prompt.ofTokens(4, 5, 6 + i), SamplingParams.builder().temperature(0).maxTokens(60)
                    .ignoreEos(true).build(), null));
        }
        other.close();
        int cancelled = 0;
        for (RequestHandle h : handles) {
            assertTrue(h.result().isDone());
            try {
                assertEquals(60, h.result().get().tokenIds().length, "finished before the close");
            } catch (CancellationException e) {
                assertEquals("the LLM was closed", e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
                cancelled++;
            }
        }
        assertTrue(cancelled > 0, "16 x 60 tokens cannot all be done at once");
        assertThrows(IllegalStateException.class, () -> other.submit(Prompt.ofTokens(1), SamplingParams.greedy(1), null));
    }

    /** Closing while a generate caller steps: its step ends first, then it throws, and nothing is stepped after. */
    @Test
    void closeWhileACallerStepsCancelsItsRequests() throws Exception {
        LLM other = LLM.load(FIXTURE, OPTIONS);
        Throwable[] thrown = new Throwable[1];
        List<RequestOutput> outs = new ArrayList<>();
        Thread g = Thread.ofPlatform().start(() -> {
            try {
                List<Prompt> prompts = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    prompts.add(Prompt.ofTokens(4, 5, 6 + i));
                }
                outs.addAll(other.generatePrompts(prompts, SamplingParams.builder().temperature(0).maxTokens(60)
                        .ignoreEos(true).build()));
            } catch (Throwable t) {
                thrown[0] = t;
            }
        });
        while (other.stats().running() == 0 && g.isAlive()) {
            Thread.onSpinWait();
        }
        other.close();
        g.join(20_000);
        assertFalse(g.isAlive());
        assertInstanceOf(CancellationException.class, thrown[0], "16 x 60 tokens cannot all be done at once");
        assertTrue(outs.isEmpty());
    }
}
