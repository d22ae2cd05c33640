package dev.jvllm.engine;

import dev.jvllm.engine.chat.ChatMessage;
import dev.jvllm.engine.chat.ChatTemplate;
import dev.jvllm.engine.core.CompletionDelta;
import dev.jvllm.engine.core.EngineCore;
import dev.jvllm.engine.core.EngineOptions;
import dev.jvllm.engine.core.EngineStats;
import dev.jvllm.engine.core.FinishReason;
import dev.jvllm.engine.core.SamplingParams;
import dev.jvllm.engine.core.TokenLogprobs;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.loader.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The application API (vLLM's {@code LLM} class): load a Hugging Face checkpoint directory,
 * generate.
 *
 * <pre>{@code
 * try (LLM llm = LLM.load(Path.of("models/tiny-llama"))) {
 *     System.out.println(llm.generate("Once upon a time", SamplingParams.greedy(32)).text());
 * }
 * }</pre>
 *
 * <p><b>Threading:</b> every method may be called from any thread. One engine thread (started by
 * {@link #load}) runs the {@link EngineCore}: it steps while any request is unfinished and sleeps
 * otherwise. A platform thread blocked in {@link #generatePrompts} (and the methods built on it)
 * steps the engine itself instead while its requests run, as vLLM's {@code LLM.generate} does, and hands the
 * engine back to the engine thread when they are done: no thread has to wake the engine for a
 * request or the caller for its result (each such wake-up cost 0.1–0.2 ms on the GPU machines,
 * docs/performance.md run 22). One thread steps at a time, every step's deltas are delivered
 * before the next step, and requests submitted together from any threads are batched together.
 * Submitting and aborting take the engine's lock, so they wait at most for the step in progress,
 * and errors in a request are thrown to the submitting thread. Listeners run on the thread that
 * steps.
 */
public final class LLM implements AutoCloseable {
    private final EngineCore core;
    private final Path modelDir;
    private final SamplingParams defaults;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Map<String, Pending> pending = new HashMap<>(); // guarded by lock
    /** Held across a step and the delivery of its deltas, so that deltas arrive in step order whoever steps. */
    private final ReentrantLock turn = new ReentrantLock();
    /** The generatePrompts caller stepping the engine, or null when the engine thread does (guarded by lock). */
    private Thread driver;
    private final AtomicLong nextId = new AtomicLong();
    private final Thread loop;
    private volatile boolean closed;
    private volatile Throwable failure;
    private volatile ChatTemplate chatTemplate; // loaded on first use

    /** A request in flight: what its completions produced so far. Touched under the lock or by the thread that steps. */
    private static final class Pending {
        final String id;
        final Prompt prompt;
        final int[] promptIds;
        final OutputListener listener;
        final CompletableFuture<RequestOutput> result = new CompletableFuture<>();
        final long arrival; // System.nanoTime() when the caller submitted it, before its prompt was encoded and checked
        long firstToken = -1;
        final List<Completion> completions = new ArrayList<>();
        List<TokenLogprobs> promptLogprobs;

        Pending(String id, Prompt prompt, int[] promptIds, int n, boolean logprobs, OutputListener listener,
                long arrival) {
            this.arrival = arrival;
            this.id = id;
            this.prompt = prompt;
            this.promptIds = promptIds;
            this.listener = listener;
            for (int i = 0; i < n; i++) {
                completions.add(new Completion(logprobs));
            }
        }

        boolean finished() {
            return completions.stream().allMatch(c -> c.finishReason != null);
        }

        RequestOutput output() {
            List<CompletionOutput> outs = new ArrayList<>();
            for (int i = 0; i < completions.size(); i++) {
                Completion c = completions.get(i);
                outs.add(new CompletionOutput(i, c.text.toString(), c.tokens.stream().mapToInt(Integer::intValue).toArray(),
                        c.logprobs == null ? OptionalDouble.empty() : OptionalDouble.of(c.cumulative),
                        c.logprobs == null ? null : List.copyOf(c.logprobs), c.finishReason, c.stopReason));
            }
            long now = System.nanoTime();
            return new RequestOutput(id, prompt.text(), promptIds.clone(), promptLogprobs, List.copyOf(outs),
                    firstToken < 0 ? null : Duration.ofNanos(firstToken - arrival), Duration.ofNanos(now - arrival));
        }
    }

    private static final class Completion {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final List<TokenLogprobs> logprobs;
        double cumulative;
        FinishReason finishReason;
        Object stopReason;

        Completion(boolean logprobs) {
            this.logprobs = logprobs ? new ArrayList<>() : null;
        }
    }

    private LLM(EngineCore core, Path modelDir) throws IOException {
        this.core = core;
        this.modelDir = modelDir;
        this.defaults = generationDefaults(modelDir);
        this.loop = Thread.ofPlatform().name("jvllm-engine").daemon(true).unstarted(this::run);
        loop.start();
    }

    /**
     * Loads a local checkpoint directory or a Hugging Face hub id ({@code org/name}, downloaded into
     * the Hugging Face cache on first use; see {@link dev.jvllm.engine.hub.ModelSource}).
     */
    public static LLM load(String dirOrHubId, EngineOptions options) throws IOException {
        return load(dev.jvllm.engine.hub.ModelSource.resolve(dirOrHubId), options);
    }

    /** Loads a model directory with the default options. */
    public static LLM load(Path modelDir) throws IOException {
        return load(modelDir, EngineOptions.defaults());
    }

    /**
     * Loads a Hugging Face checkpoint directory (config.json, *.safetensors, and tokenizer.json for
     * text prompts and output text) and starts the engine thread.
     *
     * @throws IOException when a file cannot be read
     */
    public static LLM load(Path modelDir, EngineOptions options) throws IOException {
        EngineCore core = EngineCore.load(modelDir, options);
        try {
            return new LLM(core, modelDir);
        } catch (IOException | RuntimeException e) {
            core.close();
            throw e;
        }
    }

    /**
     * vLLM's default sampling parameters for this model: its defaults, overridden by
     * generation_config.json's temperature, top_k, top_p, min_p, repetition_penalty and
     * max_new_tokens when present.
     */
    public SamplingParams defaultSamplingParams() {
        return defaults;
    }

    private static SamplingParams generationDefaults(Path dir) throws IOException {
        SamplingParams.Builder b = SamplingParams.builder();
        Path file = dir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return b.build();
        }
        ModelConfig g = ModelConfig.load(file);
        g.optionalDouble("temperature").ifPresent(b::temperature);
        g.optionalInt("top_k").ifPresent(b::topK);
        g.optionalDouble("top_p").ifPresent(b::topP);
        g.optionalDouble("min_p").ifPresent(b::minP);
        g.optionalDouble("repetition_penalty").ifPresent(b::repetitionPenalty);
        g.optionalInt("max_new_tokens").ifPresent(b::maxTokens);
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The model's tokenizer, when its directory has tokenizer.json. */
    public Optional<Tokenizer> tokenizer() {
        return Optional.ofNullable(core.tokenizer());
    }

    /** The model directory. */
    public Path modelDir() {
        return modelDir;
    }

    /** The longest sequence (prompt + output) a request may reach. */
    public int maxModelLen() {
        return core.maxModelLen();
    }

    /**
     * The model's chat template (chat_template.jinja or tokenizer_config.json in its directory),
     * loaded on first use.
     *
     * @throws dev.jvllm.engine.chat.ChatTemplateException when the model has none or it does not parse
     */
    public ChatTemplate chatTemplate() {
        ChatTemplate t = chatTemplate;
        if (t == null) {
            t = ChatTemplate.load(modelDir);
            chatTemplate = t;
        }
        return t;
    }

    /**
     * A conversation rendered by {@code template} with the generation prompt appended, as token
     * ids: the template writes BOS and the other special tokens itself, so none are added (as vLLM).
     */
    public Prompt chatPrompt(List<ChatMessage> messages, ChatTemplate template) {
        Tokenizer t = core.tokenizer();
        if (t == null) {
            throw new IllegalArgumentException("chat needs a tokenizer, but " + modelDir + " has no tokenizer.json");
        }
        return Prompt.ofTokens(t.encode(template.render(messages, true), false));
    }

    /** The assistant's reply to a conversation, through the model's chat template. */
    public RequestOutput chat(List<ChatMessage> messages, SamplingParams params) {
        return generatePrompts(List.of(chatPrompt(messages, chatTemplate())), params).get(0);
    }

    /** Generates from one text prompt and waits for the result. */
    public RequestOutput generate(String prompt, SamplingParams params) {
        return generatePrompts(List.of(Prompt.of(prompt)), params).get(0);
    }

    /** Generates from text prompts, batched together; outputs in prompt order. */
    public List<RequestOutput> generate(List<String> prompts, SamplingParams params) {
        return generatePrompts(prompts.stream().map(Prompt::of).toList(), params);
    }

    /** Generates from text prompts with {@link #defaultSamplingParams()}. */
    public List<RequestOutput> generate(List<String> prompts) {
        return generate(prompts, defaults);
    }

    /** Generates from token-id prompts, batched together; outputs in prompt order. */
    public List<RequestOutput> generateFromTokens(List<int[]> prompts, SamplingParams params) {
        return generatePrompts(prompts.stream().map(Prompt::ofTokens).toList(), params);
    }

    /**
     * Generates from prompts, batched together, and waits for every result.
     *
     * @throws IllegalArgumentException when a prompt or the parameters are invalid (nothing is submitted)
     * @throws CancellationException    when the calling thread is interrupted (the requests are aborted)
     */
    public List<RequestOutput> generatePrompts(List<Prompt> prompts, SamplingParams params) {
        long submitted = System.nanoTime(); // vLLM's arrival time: the encoding and checks count in the time to first token
        List<int[]> ids = new ArrayList<>();
        for (Prompt p : prompts) {
            ids.add(encode(p));
        }
        List<RequestHandle> handles = new ArrayList<>();
        boolean drives = false;
        lock.lock();
        try {
            // the caller steps the engine while its requests run, unless another caller already does (it
            // steps these too, then the engine thread does), this is a listener (on the stepping thread),
            // or a virtual thread: every one would keep a CPU backend's per-thread scratch (virtual threads
            // are many and short-lived), and the engine thread serves them as well
            Thread me = Thread.currentThread();
            drives = driver == null && !turn.isHeldByCurrentThread() && !me.isVirtual();
            for (int i = 0; i < prompts.size(); i++) {
                handles.add(submitLocked(prompts.get(i), ids.get(i), params, null, !drives, submitted));
            }
            if (drives) {
                driver = me;
            }
        } catch (RuntimeException e) { // all or nothing: the engine cannot step before the batch is withdrawn
            for (RequestHandle h : handles) {
                abortNow(h.requestId());
            }
            throw e;
        } finally {
            lock.unlock();
        }
        if (drives) {
            drive(handles);
        }
        List<RequestOutput> out = new ArrayList<>();
        for (int i = 0; i < handles.size(); i++) {
            try {
                out.add(handles.get(i).result().get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                handles.subList(i, handles.size()).forEach(RequestHandle::abort);
                throw new CancellationException("interrupted while generating");
            } catch (ExecutionException e) {
                throw new IllegalStateException("generation failed: " + e.getCause().getMessage(), e.getCause());
            }
        }
        return out;
    }

    /**
     * Submits one request; returns at once. {@code listener} (may be null) sees its deltas on the
     * thread that steps the engine (see {@link OutputListener}).
     *
     * @throws IllegalArgumentException when the prompt or the parameters are invalid
     * @throws IllegalStateException    when the LLM is closed or its engine failed
     */
    public RequestHandle submit(Prompt prompt, SamplingParams params, OutputListener listener) {
        long submitted = System.nanoTime();
        int[] ids = encode(prompt);
        lock.lock();
        try {
            return submitLocked(prompt, ids, params, listener, true, submitted);
        } finally {
            lock.unlock();
        }
    }

    /** Submits one request and streams its deltas to the calling thread (see {@link TokenStream}). */
    public TokenStream stream(Prompt prompt, SamplingParams params) {
        TokenStream s = new TokenStream();
        s.attach(submit(prompt, params, s.listener()));
        return s;
    }

    private int[] encode(Prompt p) {
        if (p.tokenIds() != null) {
            return p.tokenIds();
        }
        Tokenizer t = core.tokenizer();
        if (t == null) {
            throw new IllegalArgumentException("text prompt " + p + " needs a tokenizer, but " + modelDir
                    + " has no tokenizer.json; pass Prompt.ofTokens(...) instead");
        }
        return t.encode(p.text(), true);
    }

    /**
     * Adds a request submitted at {@code submitted} (System.nanoTime()); {@code wake}: signal the engine
     * thread (not when the caller steps the engine itself).
     */
    private RequestHandle submitLocked(Prompt prompt, int[] ids, SamplingParams params, OutputListener listener,
            boolean wake, long submitted) {
        Objects.requireNonNull(params, "params");
        if (closed) {
            throw new IllegalStateException("this LLM is closed");
        }
        if (failure != null) {
            throw new IllegalStateException("the engine failed: " + failure.getMessage(), failure);
        }
        String id = Long.toString(nextId.getAndIncrement());
        core.addRequest(id, ids, params); // validates; throws to the caller
        Pending p = new Pending(id, prompt, ids, params.n(), params.logprobs().isPresent(), listener, submitted);
        pending.put(id, p);
        if (wake) {
            work.signal();
        }
        return new RequestHandle(id, p.result, this);
    }

    /** Aborts a request at the next step boundary (nothing happens when it already finished). */
    void abort(String requestId) {
        turn.lock(); // its deltas after those of the step in progress
        try {
            abortNow(requestId);
        } finally {
            turn.unlock();
        }
    }

    /** {@link #abort} without waiting for the turn: for requests no step has seen yet. */
    private void abortNow(String requestId) {
        List<CompletionDelta> deltas;
        lock.lock();
        try {
            deltas = closed ? List.of() : core.abort(requestId);
        } finally {
            lock.unlock();
        }
        dispatch(deltas);
    }

    /** Counters of the engine. */
    public EngineStats stats() {
        lock.lock();
        try {
            return core.stats();
        } finally {
            lock.unlock();
        }
    }

    /** The engine thread: step while there is work and no caller steps, sleep otherwise; end when closed or failed. */
    private void run() {
        while (true) {
            lock.lock();
            try {
                while (!closed && failure == null && (driver != null || !core.hasUnfinished())) {
                    work.awaitUninterruptibly();
                }
                if (closed || failure != null) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            if (stepOnce(null) == Step.FAILED) {
                return;
            }
        }
    }

    private enum Step { STEPPED, IDLE, FAILED }

    /**
     * One engine step and the delivery of its deltas, when the engine is {@code stepper}'s to step (the
     * {@link #driver}, or null for the engine thread) and has work; IDLE when it is not (closed,
     * failed, handed over, or nothing to do), FAILED when the step threw (every request then fails).
     */
    private Step stepOnce(Thread stepper) {
        turn.lock();
        try {
            List<CompletionDelta> deltas;
            lock.lock();
            try {
                if (closed || failure != null || driver != stepper || !core.hasUnfinished()) {
                    return Step.IDLE;
                }
                deltas = core.step();
            } catch (RuntimeException | Error e) {
                deltas = null;
                failure = e;
            } finally {
                lock.unlock();
            }
            if (deltas == null) {
                fail(failure);
                return Step.FAILED;
            }
            dispatch(deltas);
            return Step.STEPPED;
        } finally {
            turn.unlock();
        }
    }

    /**
     * Steps the engine on the calling thread (the {@link #driver}) until every one of its requests is
     * done, then hands the engine back to the engine thread. Returns early, leaving the rest to the
     * engine thread, when the caller is interrupted or the engine has nothing to step (closed or failed:
     * the requests' futures say so).
     */
    private void drive(List<RequestHandle> handles) {
        Thread me = Thread.currentThread();
        try {
            for (RequestHandle h : handles) {
                while (!h.result().isDone() && !me.isInterrupted()) {
                    if (stepOnce(me) != Step.STEPPED) {
                        return;
                    }
                }
            }
        } finally {
            lock.lock();
            try {
                driver = null;
                work.signal();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Records the deltas into their requests and calls the listeners (outside the lock). */
    private void dispatch(List<CompletionDelta> deltas) {
        List<Runnable> calls = new ArrayList<>();
        lock.lock();
        try {
            long now = System.nanoTime();
            for (CompletionDelta d : deltas) {
                Pending p = pending.get(d.requestId());
                if (p == null) {
                    continue;
                }
                Completion c = p.completions.get(d.index());
                for (int t : d.newTokenIds()) {
                    c.tokens.add(t);
                }
                if (d.newTokenIds().length > 0 && p.firstToken < 0) {
                    p.firstToken = now;
                }
                c.text.append(d.text());
                if (d.logprobs() != null && c.logprobs != null) {
                    c.logprobs.addAll(d.logprobs());
                    for (TokenLogprobs lp : d.logprobs()) {
                        c.cumulative += lp.chosen().logprob();
                    }
                }
                if (d.promptLogprobs() != null) {
                    p.promptLogprobs = d.promptLogprobs();
                }
                c.finishReason = d.finishReason();
                c.stopReason = d.stopReason();
                if (p.listener != null) {
                    calls.add(() -> p.listener.onDelta(d));
                }
                if (p.finished()) {
                    pending.remove(p.id);
                    RequestOutput out = p.output();
                    if (p.listener != null) {
                        calls.add(() -> p.listener.onFinished(out));
                    }
                    calls.add(() -> p.result.complete(out));
                }
            }
        } finally {
            lock.unlock();
        }
        for (Runnable r : calls) {
            guarded(r);
        }
    }

    /**
     * Runs a listener call or a result's completion; a listener that throws is reported on stderr and
     * its request goes on, so the calls after it still run and the thread that steps is not lost.
     */
    private static void guarded(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            System.err.println("jvllm: an OutputListener threw " + e + "; the request goes on");
        }
    }

    /** The engine failed: every request in flight fails with the cause; later calls are refused. */
    private void fail(Throwable e) {
        List<Pending> failed;
        lock.lock();
        try {
            failure = e;
            failed = new ArrayList<>(pending.values());
            pending.clear();
        } finally {
            lock.unlock();
        }
        for (Pending p : failed) {
            if (p.listener != null) {
                guarded(() -> p.listener.onError(e));
            }
            p.result.completeExceptionally(e);
        }
    }

    /**
     * Stops the engine thread, fails the requests still in flight with a {@link CancellationException},
     * and frees the model, its KV cache and its backend.
     */
    @Override
    public void close() {
        List<Pending> cancelled;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            work.signalAll();
            cancelled = new ArrayList<>(pending.values());
            pending.clear();
        } finally {
            lock.unlock();
        }
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        CancellationException c = new CancellationException("the LLM was closed");
        for (Pending p : cancelled) {
            if (p.listener != null) {
                guarded(() -> p.listener.onError(c));
            }
            p.result.completeExceptionally(c);
        }
        turn.lock(); // a caller's step in progress ends first; it then sees closed and steps no more
        try {
            core.close();
        } finally {
            turn.unlock();
        }
    }
}
