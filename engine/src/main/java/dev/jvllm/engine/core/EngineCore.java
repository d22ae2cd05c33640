package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.DeviceMemory;
import dev.jvllm.api.PendingRead;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.engine.kv.KvBlockManager;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.loader.ConfigException;
import dev.jvllm.models.loader.ModelConfig;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The serving engine's core (vLLM v1's {@code EngineCore} with its output processing): requests
 * in, one batched forward pass per {@link #step()}, incremental outputs out.
 *
 * <pre>{@code
 * try (EngineCore core = EngineCore.load(dir, EngineOptions.defaults())) {
 *     core.addRequest("a", promptIds, SamplingParams.greedy(32));
 *     while (core.hasUnfinished()) {
 *         for (CompletionDelta d : core.step()) { ... }
 *     }
 * }
 * }</pre>
 *
 * <p>Each step the {@link Scheduler} picks the batch (continuous batching, chunked prefill,
 * preemption by recompute), the {@link ModelRunner} runs it as one flat varlen batch, the
 * {@link Sampler} picks the next token of every sequence whose pending tokens were all computed,
 * and the finished checks run in vLLM's order: EOS (unless ignore_eos), stop token ids (both only
 * after min_tokens), max_tokens or max_model_len, then stop strings on the decoded text.
 *
 * <p>With {@link EngineOptions#asyncScheduling} a decode step that samples on the device is
 * launched before the tokens of the step before it (a decode, or one that ends prompts) are read
 * back, and its outputs come with the next {@code step()} (see "async scheduling" below and
 * docs/engine.md).
 *
 * <p><b>Threading:</b> single-threaded. One thread at a time may call its methods (the engine does
 * no locking and starts no threads of its own, except the tensor-parallel ranks' workers inside a
 * step); that thread also runs every backend op. {@code dev.jvllm.engine.LLM} wraps it in one
 * engine thread for callers on many threads.
 */
public final class EngineCore implements AutoCloseable {
    private static final long CPU_DEFAULT_KV_BYTES = 4L << 30; // vLLM's VLLM_CPU_KVCACHE_SPACE default

    private final ModelRanks ranks;
    private final boolean ownsModel;
    private final ModelRunner runner;
    private final KvBlockManager kv;
    private final long kvBlockBytes; // one block over all attention layers and ranks
    private final long modelDeviceBytes; // -1: host-memory backend
    private final Scheduler scheduler;
    private final Sampler sampler = new Sampler();
    private final Tokenizer tokenizer;
    private final EngineOptions options;
    private final int vocabSize;
    private final int maxModelLen;
    private final int eosId;
    private final int[] extraEosIds;
    private final SplittableRandom seeds;
    private final Map<String, List<Sequence>> requests = new LinkedHashMap<>();
    private long nextSeqId;
    private long steps;
    /** Per-phase step times ({@code -Djvllm.engine.profile=true}; off, its calls return at once). */
    private final StepProfile profile = StepProfile.fromSystemProperty();
    private long promptTokensComputed;
    private long generatedTokens;

    private EngineCore(ModelRanks ranks, boolean ownsModel, Tokenizer tokenizer, int eosId, int[] extraEosIds,
            EngineOptions o) {
        this.ranks = ranks;
        this.ownsModel = ownsModel;
        this.tokenizer = tokenizer;
        this.options = o;
        this.eosId = eosId;
        this.extraEosIds = extraEosIds.clone();
        this.seeds = new SplittableRandom(o.seed());
        ModelContext ctx = ranks.first().context();
        this.modelDeviceBytes = modelDeviceBytes(ranks); // before the caches exist: the model alone
        this.vocabSize = ctx.config().vocabSize();
        boolean stateful = !ctx.stateLayers().isEmpty();
        CachePlan plan = CachePlan.of(ctx, o);
        this.maxModelLen = plan.maxModelLen();
        if (!o.enableChunkedPrefill() && o.maxNumBatchedTokens() < maxModelLen) {
            throw new IllegalArgumentException("maxNumBatchedTokens=" + o.maxNumBatchedTokens() + " is smaller than "
                    + "maxModelLen=" + maxModelLen + " without chunked prefill, so a long prompt could never run; "
                    + "enable chunked prefill or raise maxNumBatchedTokens");
        }
        // Prefix caching is off by default for models with stateful layers (Mamba, short conv, linear
        // attention), as in vLLM: a cached KV prefix does not give back the recurrent state after it.
        boolean prefixCaching = o.enablePrefixCaching() != null ? o.enablePrefixCaching() : !stateful;
        if (prefixCaching && stateful) {
            throw new IllegalArgumentException("prefix caching is not supported for models with stateful layers (here "
                    + ctx.stateLayers().keySet().iterator().next() + " and others): their state cannot be rebuilt "
                    + "from cached KV blocks; leave enablePrefixCaching unset or false");
        }
        this.kv = new KvBlockManager(plan.numBlocks(), o.blockSize(), prefixCaching);
        this.kvBlockBytes = ModelRunner.kvBytesPerBlock(ctx, o.blockSize()) * ranks.size();
        this.runner = new ModelRunner(ranks, plan.numBlocks(), o.blockSize(), stateful ? o.maxNumSeqs() : 0,
                o.maxNumSeqs(), maxModelLen, o.enforceEager() ? DecodeGraphs.Mode.EAGER : DecodeGraphs.Mode.GRAPHS);
        this.scheduler = new Scheduler(kv, o.maxNumSeqs(), o.maxNumBatchedTokens(), o.enableChunkedPrefill(),
                prefixCaching, stateful);
    }

    /**
     * How the memory budget is split (per rank): the state pools of {@code maxNumSeqs} sequences
     * first, KV blocks with the rest; and the longest sequence the pool holds.
     */
    record CachePlan(int numBlocks, int maxModelLen) {
        static CachePlan of(ModelContext ctx, EngineOptions o) {
            int bs = o.blockSize();
            int derivedLen = derivedMaxModelLen(ctx.config());
            if (o.maxModelLen() > derivedLen) {
                throw new IllegalArgumentException("maxModelLen=" + o.maxModelLen() + " is larger than the model's "
                        + derivedLen + " (max_position_embeddings in " + ctx.config().source() + "); use at most "
                        + derivedLen);
            }
            int len = o.maxModelLen() > 0 ? o.maxModelLen() : derivedLen;
            long blockBytes = ModelRunner.kvBytesPerBlock(ctx, bs);
            long stateBytes = ModelRunner.stateBytesPerSlot(ctx) * o.maxNumSeqs();
            long blocksPerSeq = (len + bs - 1) / bs;
            long budget;
            if (o.kvCacheMemoryBytes() > 0) {
                budget = o.kvCacheMemoryBytes();
            } else if (o.kvCacheMemoryFraction() > 0) {
                long capacity = ctx.backend().memoryCapacity();
                if (capacity <= 0) {
                    throw new IllegalArgumentException("kvCacheMemoryFraction=" + o.kvCacheMemoryFraction()
                            + " needs the device's memory size, which backend " + ctx.backend().name()
                            + " does not report; give kvCacheMemoryBytes instead");
                }
                budget = (long) (o.kvCacheMemoryFraction() * capacity);
            } else {
                budget = Math.min(Math.min(CPU_DEFAULT_KV_BYTES, physicalMemory() / 4),
                        stateBytes + blockBytes * blocksPerSeq * o.maxNumSeqs());
            }
            if (stateBytes + blockBytes > budget) {
                throw new IllegalArgumentException("kvCacheMemoryBytes=" + budget + " cannot hold the state of "
                        + o.maxNumSeqs() + " sequences (" + stateBytes + " bytes) and one KV block (" + blockBytes
                        + " bytes); raise kvCacheMemoryBytes or lower maxNumSeqs");
            }
            // attention-free models need no KV memory: their block table only counts tokens
            long blocks = blockBytes == 0 ? blocksPerSeq * o.maxNumSeqs() : (budget - stateBytes) / blockBytes;
            int numBlocks = (int) Math.min(Integer.MAX_VALUE / bs, blocks);
            long capacity = (long) numBlocks * bs;
            if (capacity < len) {
                if (o.maxModelLen() > 0) {
                    throw new IllegalArgumentException("the KV cache holds " + capacity + " tokens (" + numBlocks
                            + " blocks of " + bs + " in kvCacheMemoryBytes=" + budget + "), fewer than maxModelLen="
                            + o.maxModelLen() + "; raise kvCacheMemoryBytes or lower maxModelLen");
                }
                len = (int) capacity; // not asked for explicitly: fit the longest sequence to the cache
            }
            return new CachePlan(numBlocks, len);
        }
    }

    /**
     * Loads the model in {@code dir} (config.json + safetensors, and tokenizer.json when present)
     * as the options say.
     *
     * @throws IOException when the tokenizer or generation_config.json cannot be read
     */
    public static EngineCore load(Path dir, EngineOptions options) throws IOException {
        Tokenizer tokenizer = Files.isRegularFile(dir.resolve("tokenizer.json")) ? Tokenizer.load(dir) : null;
        ModelConfig config = ModelConfig.load(dir);
        List<Integer> generationEos = generationEosIds(dir, config);
        ModelRanks ranks = ModelRanks.load(dir, options);
        try {
            int primary = tokenizer != null && tokenizer.eosId().isPresent() ? tokenizer.eosId().getAsInt()
                    : generationEos.isEmpty() ? -1 : generationEos.get(0);
            return new EngineCore(ranks, true, tokenizer, primary, others(generationEos, primary), options);
        } catch (RuntimeException e) {
            ranks.close();
            throw e;
        }
    }

    /**
     * An engine over an already loaded model that it does not close.
     *
     * @param tokenizer  for text, stop strings and decoded logprob tokens; null for ids only
     * @param eosIds     the EOS ids: the first is the primary one (its finish has no stop reason), the
     *                   others stop like stop token ids, as vLLM treats generation_config's extra EOS ids
     */
    static EngineCore create(dev.jvllm.models.CausalLM model, Tokenizer tokenizer, List<Integer> eosIds,
            EngineOptions options) {
        int primary = eosIds.isEmpty() ? -1 : eosIds.get(0);
        return new EngineCore(ModelRanks.of(model), false, tokenizer, primary, others(eosIds, primary), options);
    }

    private static int[] others(List<Integer> ids, int primary) {
        return ids.stream().filter(i -> i != primary).distinct().mapToInt(Integer::intValue).toArray();
    }

    /**
     * EOS ids for generation: generation_config.json's {@code eos_token_id} (int or list), else
     * config.json's, as transformers' GenerationConfig falls back to the model config.
     */
    static List<Integer> generationEosIds(Path dir, ModelConfig config) throws IOException {
        Path gen = dir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            ModelConfig g = ModelConfig.load(gen);
            if (g.has("eos_token_id")) {
                return g.eosTokenIds();
            }
        }
        return config.eosTokenIds();
    }

    /** vLLM's derivation: the first length key config.json has, else 2048. */
    private static int derivedMaxModelLen(ModelConfig config) {
        try {
            return config.maxPositionEmbeddings();
        } catch (ConfigException e) {
            for (String key : List.of("max_seq_len", "seq_length", "max_sequence_length", "max_seq_length", "seq_len")) {
                if (config.has(key)) {
                    return config.getInt(key, 2048);
                }
            }
            return 2048;
        }
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** The tokenizer, or null when the model directory has none. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The longest sequence (prompt + output) a request may reach. */
    public int maxModelLen() {
        return maxModelLen;
    }

    /** The model's vocabulary size (config.json). */
    public int vocabSize() {
        return vocabSize;
    }

    /**
     * Queues a request; it runs from the next {@link #step()} on.
     *
     * @throws IllegalArgumentException when the id is in use, the prompt is empty, too long or holds
     *     ids outside the vocabulary, or the parameters ask for what the engine cannot give (too many
     *     logprobs, out-of-vocabulary stop ids, stop strings without a tokenizer)
     */
    public void addRequest(String requestId, int[] prompt, SamplingParams params) {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(params, "params");
        if (requests.containsKey(requestId)) {
            throw new IllegalArgumentException("request id \"" + requestId + "\" is already in use");
        }
        if (prompt.length == 0) {
            throw new IllegalArgumentException("request " + requestId + ": the prompt is empty; give at least one token");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocabSize) {
                throw new IllegalArgumentException("request " + requestId + ": prompt token " + prompt[i] + " at position "
                        + i + " is outside the model's vocabulary [0, " + vocabSize + ")");
            }
        }
        if (prompt.length > maxModelLen) {
            throw new IllegalArgumentException("request " + requestId + ": the prompt (length " + prompt.length
                    + ") is longer than the maximum model length of " + maxModelLen);
        }
        int numLogprobs = checkLogprobs(requestId, "logprobs", params.logprobs());
        int numPromptLogprobs = checkLogprobs(requestId, "prompt_logprobs", params.promptLogprobs());
        for (int id : params.stopTokenIds()) {
            if (id >= vocabSize) {
                throw new IllegalArgumentException("request " + requestId + ": stop_token_ids " + params.stopTokenIds()
                        + " contain out-of-vocab token id " + id + " (vocabulary size " + vocabSize + ")");
            }
        }
        if (!params.stop().isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("request " + requestId + ": stop strings need a tokenizer (tokenizer.json "
                    + "in the model directory); use stop_token_ids instead");
        }
        Set<Integer> stopIds = new LinkedHashSet<>(params.stopTokenIds());
        Set<Integer> mask = new LinkedHashSet<>(params.stopTokenIds()); // vLLM's all_stop_token_ids
        for (int id : extraEosIds) {
            mask.add(id);
            if (!params.ignoreEos()) {
                stopIds.add(id);
            }
        }
        if (eosId >= 0) {
            mask.add(eosId);
        }
        int remaining = maxModelLen - prompt.length;
        int maxTokens = params.maxTokens().isPresent() ? params.maxTokens().getAsInt() : Math.max(1, remaining);
        Sequence.Request r = new Sequence.Request(requestId, prompt.clone(), params, maxTokens,
                params.ignoreEos() ? -1 : eosId, toArray(stopIds), toArray(mask), numLogprobs, numPromptLogprobs);
        List<Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < params.n(); i++) {
            // vLLM's parallel sampling: completion i of a seeded request uses seed + i
            long seed = params.seed().isPresent() ? params.seed().getAsLong() + i : seeds.nextLong();
            OutputText text = tokenizer == null ? null : new OutputText(tokenizer, prompt, params);
            seqs.add(new Sequence(nextSeqId++, r, i, seed, text));
        }
        requests.put(requestId, seqs);
        for (Sequence s : seqs) {
            scheduler.add(s);
        }
    }

    /** A requested logprob count resolved (−1 → the vocabulary), or −1 for none. */
    private int checkLogprobs(String requestId, String field, java.util.OptionalInt requested) {
        if (requested.isEmpty()) {
            return -1;
        }
        int n = requested.getAsInt() == -1 ? vocabSize : requested.getAsInt();
        int max = options.maxLogprobs() == -1 ? vocabSize : options.maxLogprobs();
        if (n > max) {
            throw new IllegalArgumentException("request " + requestId + ": requested " + field + " of " + n
                    + ", which is greater than max allowed: " + max + " (EngineOptions.maxLogprobs)");
        }
        return n;
    }

    private static int[] toArray(Set<Integer> s) { // a loop, not a stream: it runs once per request, rarely compiled
        int[] a = new int[s.size()];
        int i = 0;
        for (int v : s) {
            a[i++] = v;
        }
        return a;
    }

    /** Whether any request is still queued or running. */
    public boolean hasUnfinished() {
        return scheduler.hasUnfinished();
    }

    /**
     * Runs one batch and returns what it added to each completion it touched: one delta per
     * completion that got a token or finished (none for a prefill chunk that did not reach the
     * end of its prompt). Returns an empty list when nothing is queued.
     */
    public List<CompletionDelta> step() {
        if (inFlight != null) {
            InFlight previous = inFlight;
            inFlight = null;
            return advance(previous);
        }
        profile.start();
        List<Scheduler.Scheduled> batch = scheduler.schedule();
        profile.lap();
        if (batch.isEmpty()) {
            if (scheduler.hasUnfinished()) { // the capacity checks at construction rule this out
                throw new IllegalStateException("no sequence can run although " + scheduler.numWaiting()
                        + " wait: " + stats());
            }
            return List.of();
        }
        steps++;
        if (options.asyncScheduling() && ranks.size() == 1 && isDeviceDecode(batch)) {
            List<Sequence> seqs = new ArrayList<>(batch.size());
            int[] starts = new int[batch.size()];
            for (int i = 0; i < starts.length; i++) {
                seqs.add(batch.get(i).seq());
                starts[i] = batch.get(i).start();
            }
            inFlight = launch(seqs, starts, null);
            return List.of(); // its tokens come with the next step
        }
        List<ModelRunner.Chunk> chunks = new ArrayList<>(batch.size());
        int[] firstPromptRow = new int[batch.size()];
        int[] sampleRow = new int[batch.size()];
        int row = 0;
        for (int i = 0; i < batch.size(); i++) {
            Scheduler.Scheduled s = batch.get(i);
            Sequence seq = s.seq();
            int end = s.start() + s.numTokens();
            // prompt position p's logits give prompt token p+1's logprob
            int from = Math.max(s.start(), seq.nextPromptLogprobPosition());
            int to = Math.min(end, seq.promptLength() - 1);
            int numPrompt = Math.max(0, to - from);
            boolean samples = end == seq.numTokens();
            int[] rows = new int[numPrompt + (samples ? 1 : 0)];
            for (int j = 0; j < numPrompt; j++) {
                rows[j] = from + j - s.start();
            }
            if (samples) {
                rows[numPrompt] = s.numTokens() - 1;
            }
            firstPromptRow[i] = numPrompt > 0 ? row : -1;
            sampleRow[i] = samples ? row + numPrompt : -1;
            row += rows.length;
            chunks.add(new ModelRunner.Chunk(seq.tokens(s.start(), s.numTokens()), s.start(), kv.blockTable(seq.id),
                    seq.stateSlot, rows));
        }
        int[] sampled = new int[batch.size()];
        Sampler.RowLogprobs[] sampledLogprobs = new Sampler.RowLogprobs[batch.size()];
        profile.kind(chunks);
        profile.lap();
        InFlight onDevice = null;
        try (Tensor logits = runner.execute(chunks)) {
            profile.lap();
            if (logits != null) {
                onDevice = tokensOnDevice(batch, firstPromptRow, sampleRow, logits);
                if (onDevice == null) {
                    promptLogprobs(logits, batch, firstPromptRow);
                    sample(logits, batch, sampleRow, sampled, sampledLogprobs);
                }
            }
            profile.lap();
        }
        if (onDevice != null) {
            List<CompletionDelta> out = chainAfter(batch, onDevice);
            profile.lap();
            return out;
        }
        List<CompletionDelta> out = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Scheduler.Scheduled s = batch.get(i);
            Sequence seq = s.seq();
            int end = s.start() + s.numTokens();
            promptTokensComputed += promptTokens(s);
            seq.numComputed = end;
            scheduler.commit(seq);
            if (sampleRow[i] >= 0) {
                accept(seq, sampled[i], sampledLogprobs[i]);
                out.add(delta(seq));
                if (seq.finished()) {
                    finish(seq);
                }
            }
        }
        profile.lap();
        return out;
    }

    // ---- async scheduling (EngineOptions.asyncScheduling): a decode step in flight while the host works ----
    //
    // A decode step whose every row samples on the device is launched and its tokens' read started, and
    // step() returns; the next step() launches the step after it at once, its input ids taken on the device
    // from the tokens in flight, and only then waits for those tokens and processes them (vLLM's async
    // scheduling: the host's share of a step hides behind the GPU's). The next step is launched this way
    // only when nothing else could change its batch: no request waits, and no sequence of the step in
    // flight can end by length with the token on its way; one that ends by EOS, a stop token or a stop
    // string has computed one position too many, in blocks it frees anyway, and that row is dropped.
    // A step that ends prompts (or mixes their ends with decodes) chains the same way when each of its
    // rows samples on the device and it computes no prompt logprobs: the first decode step is launched
    // before the prompts' tokens are read, so it does not wait for the host to process them.

    /** A launched decode step: its sequences in row order, their positions, and the tokens on their way. */
    private static final class InFlight {
        final List<Sequence> seqs;
        final int[] starts;
        final Tensor tokens;
        final PendingRead read;
        private boolean closed;

        private InFlight(List<Sequence> seqs, int[] starts, Tensor tokens, PendingRead read) {
            this.seqs = seqs;
            this.starts = starts;
            this.tokens = tokens;
            this.read = read;
        }

        /** A step whose {@code tokens} are picked on the device: starts their read (closes them if that fails). */
        static InFlight reading(List<Sequence> seqs, int[] starts, Tensor tokens) {
            try {
                return new InFlight(List.copyOf(seqs), starts, tokens, tokens.backend().readLater(tokens));
            } catch (RuntimeException e) {
                tokens.close();
                throw e;
            }
        }

        /** Releases the read and the device tokens (once: a second call does nothing). */
        void close() {
            if (!closed) {
                closed = true;
                read.close();
                tokens.close();
            }
        }
    }

    private InFlight inFlight; // null: nothing in flight
    private long chainedSteps;

    /** Decode steps launched before the tokens of the step before them were read (tests). */
    long chainedSteps() {
        return chainedSteps;
    }

    /** Whether every chunk is a sequence's next token and its row samples on the device. */
    private boolean isDeviceDecode(List<Scheduler.Scheduled> batch) {
        for (Scheduler.Scheduled s : batch) {
            Sequence seq = s.seq();
            if (s.numTokens() != 1 || s.start() == 0 || s.start() + 1 != seq.numTokens()
                    || !Sampler.devicePicks(row(seq, seq.numOutput()))) {
                return false;
            }
        }
        return true;
    }

    /** The sampler's row for the sequence's output token {@code outputIndex}. */
    private static Sampler.Row row(Sequence seq, int outputIndex) {
        Sequence.Request r = seq.request;
        boolean penalties = r.params().hasPenalties();
        int[] mask = outputIndex < r.params().minTokens() ? r.minTokensMask() : new int[0];
        return new Sampler.Row(r.params(), seq.seed, outputIndex, mask, r.numLogprobs(),
                penalties ? r.prompt() : null, penalties ? seq.outputTokens() : null);
    }

    /**
     * Runs the decode step of the sequences at positions {@code starts} (their blocks allocated), with
     * input ids from the device ({@code ids}, one per row) or from the sequences (null), samples on the
     * device and starts the tokens' read.
     */
    private InFlight launch(List<Sequence> seqs, int[] starts, Tensor ids) {
        List<ModelRunner.Chunk> chunks = new ArrayList<>(seqs.size());
        List<Sampler.Row> rows = new ArrayList<>(seqs.size());
        for (int i = 0; i < starts.length; i++) {
            Sequence seq = seqs.get(i);
            int token = ids == null ? seq.token(starts[i]) : 0; // 0: a placeholder the device ids replace
            chunks.add(new ModelRunner.Chunk(new int[] {token}, starts[i], kv.blockTable(seq.id), seq.stateSlot,
                    new int[] {0}));
            rows.add(row(seq, starts[i] + 1 - seq.promptLength()));
        }
        Tensor tokens;
        if (Sampler.allGreedy(rows)) {
            tokens = runner.executeGreedy(chunks, ids); // in the decode graph: no argmax launch of its own
        } else {
            try (Tensor logits = runner.execute(chunks, ids)) {
                tokens = sampler.tokensOnDevice(logits, rows);
            }
        }
        return InFlight.reading(seqs, starts, tokens);
    }

    /**
     * Whether the step after {@code f} can be launched before f's tokens are known: nothing waits to
     * be scheduled, every sequence of f still runs (and nothing else does), none can end by length
     * with f's token, each next row samples on the device, and the pool has the blocks.
     */
    private boolean canChain(InFlight f) {
        return canChain(f.seqs, f.starts);
    }

    /** {@link #canChain(InFlight)} for a step of {@code seqs} at positions {@code starts}, its tokens not yet picked. */
    private boolean canChain(List<Sequence> seqs, int[] starts) {
        if (scheduler.numWaiting() > 0 || scheduler.numRunning() != seqs.size()) {
            return false;
        }
        int newBlocks = 0;
        for (int i = 0; i < starts.length; i++) {
            Sequence seq = seqs.get(i);
            int next = starts[i] + 1;                // the position of the step's token
            int outputs = next + 1 - seq.promptLength(); // the output count once f's token is in
            if (seq.finished() || outputs >= seq.request.maxTokens() || next + 1 >= maxModelLen
                    || !Sampler.devicePicks(row(seq, outputs))) {
                return false;
            }
            newBlocks += next % kv.blockSize() == 0 ? 1 : 0;
        }
        return newBlocks <= kv.numFreeBlocks();
    }

    /**
     * The tokens of a step run synchronously, picked on the device with their read started, when the
     * decode step after it can be launched before they are read: async scheduling on one rank, every
     * chunk's row samples (a prompt's end or a decode), none computes prompt logprobs (so the logits'
     * rows are the chunks' in order), the device picks every token, and {@link #canChain(List, int[])}
     * accepts the step after. Null otherwise: the step samples on the host as before.
     */
    private InFlight tokensOnDevice(List<Scheduler.Scheduled> batch, int[] firstPromptRow, int[] sampleRow,
            Tensor logits) {
        if (!options.asyncScheduling() || ranks.size() != 1 || logits.dim(0) != batch.size()) {
            return null;
        }
        List<Sequence> seqs = new ArrayList<>(batch.size());
        List<Sampler.Row> rows = new ArrayList<>(batch.size());
        int[] last = new int[batch.size()]; // each chunk's last position: the step's rows, as an in-flight decode's
        for (int i = 0; i < last.length; i++) {
            Scheduler.Scheduled s = batch.get(i);
            Sequence seq = s.seq();
            if (firstPromptRow[i] >= 0 || sampleRow[i] != i) {
                return null;
            }
            Sampler.Row row = row(seq, seq.numOutput());
            if (!Sampler.devicePicks(row)) {
                return null;
            }
            seqs.add(seq);
            rows.add(row);
            last[i] = s.start() + s.numTokens() - 1;
        }
        if (!canChain(seqs, last)) {
            return null;
        }
        Tensor tokens = sampler.tokensOnDevice(logits, rows);
        return InFlight.reading(seqs, last, tokens);
    }

    /** Ends a synchronous step whose tokens are on their way ({@link #tokensOnDevice}): launches the decode after it, then reads them. */
    private List<CompletionDelta> chainAfter(List<Scheduler.Scheduled> batch, InFlight f) {
        for (Scheduler.Scheduled s : batch) {
            promptTokensComputed += promptTokens(s);
        }
        return advance(f);
    }

    /** The prompt tokens among those a scheduled chunk computes. */
    private static int promptTokens(Scheduler.Scheduled s) {
        return Math.max(0, Math.min(s.start() + s.numTokens(), s.seq().promptLength()) - s.start());
    }

    /**
     * Launches the step after {@code f} when {@link #canChain} allows, then waits for f's tokens and
     * processes them; the launched step becomes the one in flight. Nothing half-done stays in flight.
     */
    private List<CompletionDelta> advance(InFlight f) {
        InFlight next = null;
        try {
            if (canChain(f)) {
                next = launchChained(f);
            }
            List<CompletionDelta> out = complete(f);
            inFlight = next;
            return out;
        } catch (RuntimeException e) {
            f.close();
            if (next != null) {
                next.close();
            }
            throw e;
        }
    }

    /** Launches the step after {@code f}, its ids f's tokens on the device (canChain said it may). */
    private InFlight launchChained(InFlight f) {
        int[] starts = new int[f.starts.length];
        for (int i = 0; i < starts.length; i++) {
            Sequence seq = f.seqs.get(i);
            if (!kv.allocateSlots(seq.id, 1)) {
                throw new IllegalStateException("no KV block for sequence " + seq.id + " although canChain counted them");
            }
            starts[i] = f.starts[i] + 1;
        }
        steps++;
        chainedSteps++;
        return launch(f.seqs, starts, f.tokens);
    }

    /** Waits for f's tokens and processes them as a synchronous step would; rows of finished sequences are dropped. */
    private List<CompletionDelta> complete(InFlight f) {
        int n = f.starts.length;
        int[] tokens;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * n);
            f.read.await(seg);
            tokens = seg.toArray(ValueLayout.JAVA_INT);
        } finally {
            f.close();
        }
        List<CompletionDelta> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Sequence seq = f.seqs.get(i);
            if (seq.finished()) { // ended (or was aborted) before this row's token was known
                continue;
            }
            seq.numComputed = f.starts[i] + 1;
            scheduler.commit(seq);
            accept(seq, tokens[i], null);
            out.add(delta(seq));
            if (seq.finished()) {
                finish(seq);
            }
        }
        return out;
    }

    /** Computes and stores the prompt logprobs of the rows this step produced. */
    private void promptLogprobs(Tensor logits, List<Scheduler.Scheduled> batch, int[] firstPromptRow) {
        List<Integer> rows = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (firstPromptRow[i] < 0) {
                continue;
            }
            Scheduler.Scheduled s = batch.get(i);
            Sequence seq = s.seq();
            int from = Math.max(s.start(), seq.nextPromptLogprobPosition());
            int to = Math.min(s.start() + s.numTokens(), seq.promptLength() - 1);
            for (int p = from; p < to; p++) {
                rows.add(firstPromptRow[i] + p - from);
                tokens.add(seq.request.prompt()[p + 1]);
            }
            n = Math.max(n, seq.request.numPromptLogprobs());
        }
        if (rows.isEmpty()) {
            return;
        }
        Sampler.RowLogprobs[] lps;
        try (Tensor picked = gather(logits, rows)) {
            lps = Sampler.logprobs(picked, n, tokens.stream().mapToInt(Integer::intValue).toArray());
        }
        int k = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (firstPromptRow[i] < 0) {
                continue;
            }
            Scheduler.Scheduled s = batch.get(i);
            Sequence seq = s.seq();
            int from = Math.max(s.start(), seq.nextPromptLogprobPosition());
            int to = Math.min(s.start() + s.numTokens(), seq.promptLength() - 1);
            for (int p = from; p < to; p++) {
                seq.promptLogprobs.add(tokenLogprobs(lps[k++], seq.request.numPromptLogprobs()));
            }
        }
    }

    private void sample(Tensor logits, List<Scheduler.Scheduled> batch, int[] sampleRow, int[] sampled,
            Sampler.RowLogprobs[] sampledLogprobs) {
        List<Integer> rows = new ArrayList<>();
        List<Sampler.Row> params = new ArrayList<>();
        List<Integer> which = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            if (sampleRow[i] < 0) {
                continue;
            }
            Sequence seq = batch.get(i).seq();
            params.add(row(seq, seq.numOutput()));
            rows.add(sampleRow[i]);
            which.add(i);
        }
        if (rows.isEmpty()) {
            return;
        }
        Sampler.Result res;
        if (readOnly(params) && isEveryRowInOrder(rows, logits.dim(0))) {
            res = sampler.sample(logits, params); // a decode step: no copy (the sampler only reads)
        } else {
            try (Tensor picked = gather(logits, rows)) {
                res = sampler.sample(picked, params);
            }
        }
        for (int j = 0; j < which.size(); j++) {
            sampled[which.get(j)] = res.tokens()[j];
            sampledLogprobs[which.get(j)] = res.logprobs()[j];
        }
    }

    /** Whether the sampler leaves the logits as they are for these rows: no penalties, no stop-token mask. */
    private static boolean readOnly(List<Sampler.Row> params) {
        for (Sampler.Row r : params) {
            if (r.maskedIds().length > 0 || r.params().hasPenalties()) {
                return false;
            }
        }
        return true;
    }

    /** rows = 0, 1, ..., n − 1. */
    private static boolean isEveryRowInOrder(List<Integer> rows, int n) {
        if (rows.size() != n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (rows.get(i) != i) {
                return false;
            }
        }
        return true;
    }

    /** Rows of F32 logits [R, V] as a new tensor (a copy: the sampler changes its rows in place). */
    private static Tensor gather(Tensor logits, List<Integer> rows) {
        Backend b = logits.backend();
        Tensor out = b.allocateUninitialized(DType.F32, rows.size(), logits.cols()); // gather_rows writes it whole
        try (Tensor idx = Tensors.fromInts(b, rows.stream().mapToInt(Integer::intValue).toArray(), rows.size())) {
            b.gatherRows(new GatherRows(logits, idx, out));
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** Appends a sampled token and runs the finish checks in vLLM's order. */
    private void accept(Sequence seq, int token, Sampler.RowLogprobs lp) {
        Sequence.Request r = seq.request;
        seq.append(token);
        generatedTokens++;
        if (lp != null) {
            seq.pendingLogprobs.add(tokenLogprobs(lp, r.numLogprobs()));
        }
        FinishReason reason = null;
        Object stopReason = null;
        if (seq.numOutput() >= r.params().minTokens()) {
            if (token == r.eosId()) {
                reason = FinishReason.STOP;
            } else if (r.isStopId(token)) {
                reason = FinishReason.STOP;
                stopReason = token;
            }
        }
        boolean stopTerminated = reason != null;
        if (reason == null && (seq.numTokens() >= maxModelLen || seq.numOutput() >= r.maxTokens())) {
            reason = FinishReason.LENGTH;
        }
        if (seq.text != null) {
            String stop = seq.text.add(token, seq.numOutput(), stopTerminated);
            if (stop != null) {
                reason = FinishReason.STOP;
                stopReason = stop;
            }
        }
        seq.finishReason = reason;
        seq.stopReason = stopReason;
    }

    private TokenLogprobs tokenLogprobs(Sampler.RowLogprobs lp, int n) {
        List<Logprob> top = new ArrayList<>(Math.min(n, lp.topIds().length));
        for (int j = 0; j < Math.min(n, lp.topIds().length); j++) {
            int id = lp.topIds()[j];
            float v = lp.topLogprobs()[j];
            top.add(new Logprob(id, v, j + 1, decode(id))); // vLLM ranks the top list by position
        }
        return new TokenLogprobs(new Logprob(lp.tokenId(), lp.logprob(), lp.rank(), decode(lp.tokenId())), top);
    }

    private String decode(int id) {
        return tokenizer == null ? null : tokenizer.decode(new int[] {id}, false);
    }

    /** What the completion gained since its last delta. */
    private CompletionDelta delta(Sequence seq) {
        int[] ids = seq.tokens(seq.promptLength() + seq.reportedTokens, seq.numOutput() - seq.reportedTokens);
        seq.reportedTokens = seq.numOutput();
        String text = seq.text == null ? "" : seq.text.delta(seq.finished());
        List<TokenLogprobs> lps = null;
        if (seq.request.numLogprobs() >= 0) {
            lps = List.copyOf(seq.pendingLogprobs);
            seq.pendingLogprobs.clear();
        }
        List<TokenLogprobs> plp = null;
        if (seq.promptLogprobs != null && !seq.promptLogprobsSent) {
            plp = Collections.unmodifiableList(new ArrayList<>(seq.promptLogprobs)); // entry 0 is null
            seq.promptLogprobsSent = true;
        }
        return new CompletionDelta(seq.request.id(), seq.index, ids, text, lps, plp, seq.finishReason, seq.stopReason);
    }

    private void finish(Sequence seq) {
        scheduler.remove(seq);
        List<Sequence> siblings = requests.get(seq.request.id());
        if (siblings != null && siblings.stream().allMatch(Sequence::finished)) {
            requests.remove(seq.request.id());
        }
    }

    /**
     * Aborts a request: its completions end with {@link FinishReason#ABORT} and free their blocks
     * and state slots at once.
     *
     * @return the final delta of each completion that was still running; empty when the request is
     *     unknown or already finished
     */
    public List<CompletionDelta> abort(String requestId) {
        List<Sequence> seqs = requests.remove(requestId);
        if (seqs == null) {
            return List.of();
        }
        List<CompletionDelta> out = new ArrayList<>();
        for (Sequence seq : seqs) {
            if (seq.finished()) {
                continue;
            }
            scheduler.remove(seq);
            seq.finishReason = FinishReason.ABORT;
            out.add(delta(seq));
        }
        return out;
    }

    /** Device memory in use on every rank's backend (the model, before any cache), or −1 on host backends. */
    private static long modelDeviceBytes(ModelRanks ranks) {
        DeviceMemory m = deviceMemory(ranks);
        return m == null ? -1 : m.inUse();
    }

    /** The ranks' device memory, summed; null when a rank's backend keeps tensors in host memory. */
    private static DeviceMemory deviceMemory(ModelRanks ranks) {
        long inUse = 0, peak = 0, reserved = 0;
        for (int r = 0; r < ranks.size(); r++) {
            DeviceMemory m = ranks.rank(r).context().backend().deviceMemory();
            if (m == null) {
                return null;
            }
            inUse += m.inUse();
            peak += m.peak();
            reserved += m.reserved();
        }
        return new DeviceMemory(inUse, peak, reserved);
    }

    /** Counters and occupancy now. */
    public EngineStats stats() {
        return new EngineStats(steps, promptTokensComputed, scheduler.cachedTokens, generatedTokens,
                scheduler.preemptions, kv.numBlocks() - kv.numFreeBlocks(), kv.numBlocks(), scheduler.stateSlotsInUse(),
                scheduler.numRunning(), scheduler.numWaiting(), kvBlockBytes, modelDeviceBytes, deviceMemory(ranks));
    }

    /** Frees the KV cache and state pools, and the model when this engine loaded it. */
    @Override
    public void close() {
        if (inFlight != null) {
            inFlight.close();
            inFlight = null;
        }
        profile.print(System.err);
        runner.close();
        if (ownsModel) {
            ranks.close();
        }
    }

    @Override
    public String toString() {
        return "EngineCore{maxModelLen=" + maxModelLen + ", blocks=" + kv.numBlocks() + "x" + kv.blockSize()
                + ", options=" + options + "}";
    }
}
