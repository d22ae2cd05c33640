package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.OpGraph;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.KvCache;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decode steps replayed from captured op graphs (vLLM's CUDA graphs for decode): a step whose chunks
 * are all single-token decodes is padded to a captured shape, its inputs are written into that
 * shape's fixed input tensor, and the graph recorded for the shape runs the whole forward pass and
 * the logits in one launch, so the host no longer paces the GPU one kernel at a time.
 *
 * <p>A shape is (batch bucket, context bucket). Batch buckets are vLLM's capture sizes (1, 2, 4, then
 * steps of 8 to 256, then of 16) up to max_num_seqs, which is always one. The context bucket (the
 * next power of two of the longest sequence, at least {@value #MIN_CONTEXT} and at most max_model_len)
 * is declared as the step's maxSeqLen: ops whose launch configuration follows it (attention's key
 * splits) keep one configuration for every replay, and the kernels read each sequence's true length
 * from the device. It is also the declared largest position: a longrope model switches to its long
 * factors by bucket, which agrees with the exact switch when original_max_position_embeddings is a
 * power of two (as in the released checkpoints).
 *
 * <p>Padding rows run token 0 at position 0 with a KV slot of −1 (nothing is written), a length of
 * one key in block 0 (read only) and state slot −1 (stateful ops skip it): they touch no sequence's
 * cache or state, and their logits are dropped.
 *
 * <p>A step whose every row is greedy can have its argmax recorded in the graph too ({@link #runGreedy}):
 * a shape of its own whose output is the tokens, so the argmax runs as the graph's last kernel
 * instead of a launch of its own after the replay (the host enqueues one op less per step; the GPU
 * time between two async steps' replays fell by 1.3–2 µs on an H200, docs/performance.md run 17).
 * The argmax writes into the shape's ids, so a next step of the same shape whose ids are those
 * tokens finds them in place: its upload skips them and no copy runs (−2 µs, run 18).
 *
 * <p>The first step of a shape runs eagerly through the same body (lazy one-time work such as
 * cuBLAS's handle happens there, and a state update is never applied twice); the second captures it
 * and replays. If a capture fails (an op that involves the host), graphs are turned off for the
 * runner with the reason in {@link #disabledReason()} and every step runs eagerly.
 */
final class DecodeGraphs implements AutoCloseable {
    /** How decode-only steps run. */
    enum Mode {
        /** As any step: unpadded, eager (vLLM's {@code --enforce-eager}). */
        EAGER,
        /** Padded to a captured shape and replayed from a graph. */
        GRAPHS,
        /** Padded as for graphs but run eagerly every time: a replay's bit-for-bit reference (tests). */
        PADDED_EAGER
    }

    /** Shortest context bucket: fewer shapes for short contexts, whose attention is cheap anyway. */
    static final int MIN_CONTEXT = 256;

    /** A captured shape; {@code greedy}: the graph ends in the rows' argmax. */
    private record Shape(int batch, int context, boolean greedy) {
    }

    /**
     * A shape's fixed input tensor (I32 metadata, layout of {@link #metadata}), its graph and output:
     * F32 logits [B, vocab], or for a greedy shape I32 tokens [B].
     */
    private static final class Entry {
        final Tensor meta;
        int eagerRuns;
        OpGraph graph;
        Tensor out;
        /** The tokens view the last replay of a greedy shape returned: its ids, already in place. */
        Tensor lastTokens;

        Entry(Tensor meta) {
            this.meta = meta;
        }
    }

    private final CausalLM model;
    private final Mode mode;
    private final int[] batchSizes;
    private final int maxModelLen;
    private final int blockSize;
    private final Map<String, KvCache> kv;
    private final Map<String, List<Tensor>> states;
    private final Map<Shape, Entry> entries = new HashMap<>();
    private String disabledReason;
    private long idsInPlace;

    /**
     * @param model       the (only) rank's model
     * @param mode        GRAPHS or PADDED_EAGER
     * @param maxNumSeqs  the largest decode batch
     * @param maxModelLen the longest sequence
     * @param kv          the runner's caches, by attention layer
     * @param states      the runner's state pools by stateful layer, or null
     */
    DecodeGraphs(CausalLM model, Mode mode, int maxNumSeqs, int maxModelLen, int blockSize, Map<String, KvCache> kv,
            Map<String, List<Tensor>> states) {
        if (mode == Mode.EAGER) {
            throw new IllegalArgumentException("DecodeGraphs runs padded decodes; EAGER needs none");
        }
        this.model = model;
        this.mode = mode;
        this.batchSizes = captureSizes(maxNumSeqs);
        this.maxModelLen = maxModelLen;
        this.blockSize = blockSize;
        this.kv = kv;
        this.states = states;
        if (mode == Mode.GRAPHS && !model.context().backend().canCapture()) {
            disabledReason = "backend " + model.context().backend().name() + " does not capture op graphs";
        }
    }

    /** vLLM's cudagraph capture sizes up to {@code maxNumSeqs}: 1, 2, 4, 8, 16, ..., 256, 272, ..., and maxNumSeqs. */
    static int[] captureSizes(int maxNumSeqs) {
        List<Integer> sizes = new ArrayList<>();
        for (int s = 1; s < maxNumSeqs; s = s < 4 ? s * 2 : s < 8 ? 8 : s < 256 ? s + 8 : s + 16) {
            sizes.add(s);
        }
        sizes.add(maxNumSeqs);
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The smallest capture size holding {@code n} sequences, or −1 when none does. */
    static int batchBucket(int[] sizes, int n) {
        for (int s : sizes) {
            if (s >= n) {
                return s;
            }
        }
        return -1;
    }

    /** The context bucket of a step whose longest sequence has {@code maxSeqLen} tokens. */
    static int contextBucket(int maxSeqLen, int maxModelLen) {
        int c = Math.max(MIN_CONTEXT, Integer.highestOneBit(Math.max(1, maxSeqLen - 1)) << 1);
        return Math.max(maxSeqLen, Math.min(c, maxModelLen));
    }

    /** Whether every chunk is one token of a running sequence whose logits are wanted: a decode-only step. */
    static boolean isDecode(List<ModelRunner.Chunk> chunks) {
        if (chunks.isEmpty()) {
            return false;
        }
        for (ModelRunner.Chunk c : chunks) {
            if (c.tokens().length != 1 || c.start() == 0 || c.logitRows().length != 1 || c.logitRows()[0] != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The step's metadata, padded to {@code batch} rows and {@code context} tokens: ids [B], positions
     * [B], query_start_loc [B+1], seq_lens [B], block tables [B, W] (W = context / blockSize rounded
     * up), slot mapping [B], state slots [B], has-state [B].
     */
    static int[] metadata(List<ModelRunner.Chunk> chunks, int batch, int context, int blockSize) {
        int w = tableWidth(context, blockSize);
        int[] m = new int[metadataLength(batch, w)];
        int ids = 0, pos = batch, qsl = 2 * batch, lens = 3 * batch + 1, tables = 4 * batch + 1;
        int slots = tables + batch * w, stateSlots = slots + batch, hasState = stateSlots + batch;
        for (int i = 0; i <= batch; i++) {
            m[qsl + i] = i;
        }
        for (int i = 0; i < batch; i++) {
            if (i < chunks.size()) {
                ModelRunner.Chunk c = chunks.get(i);
                int p = c.start();
                if (p + 1 > context) {
                    throw new IllegalArgumentException("sequence " + i + " at position " + p + " is past the context"
                            + " bucket " + context);
                }
                m[ids + i] = c.tokens()[0];
                m[pos + i] = p;
                m[lens + i] = p + 1;
                int used = (p + blockSize) / blockSize; // blocks holding positions 0..p
                if (c.blockTable().length < used) {
                    throw new IllegalStateException("chunk at position " + p + " has only " + c.blockTable().length
                            + " blocks of " + blockSize);
                }
                System.arraycopy(c.blockTable(), 0, m, tables + i * w, Math.min(w, c.blockTable().length));
                m[slots + i] = c.blockTable()[p / blockSize] * blockSize + p % blockSize;
                m[stateSlots + i] = c.stateSlot();
                m[hasState + i] = 1;
            } else {
                m[lens + i] = 1;            // one key, in block 0 (table row of zeros): read, never written
                m[slots + i] = -1;          // kv_cache_write skips the row
                m[stateSlots + i] = -1;     // stateful ops skip the row
            }
        }
        return m;
    }

    static int tableWidth(int context, int blockSize) {
        return (context + blockSize - 1) / blockSize;
    }

    static int metadataLength(int batch, int tableWidth) {
        return 7 * batch + 1 + batch * tableWidth;
    }

    /** Why graphs are off for this runner (null while they are on). */
    String disabledReason() {
        return disabledReason;
    }

    /** Steps whose ids the previous replay's argmax had written into their metadata (tests). */
    long idsInPlace() {
        return idsInPlace;
    }

    /** Shapes captured so far. */
    int capturedShapes() {
        int n = 0;
        for (Entry e : entries.values()) {
            n += e.graph != null ? 1 : 0;
        }
        return n;
    }

    /**
     * Runs a decode-only step ({@link #isDecode}) padded to its shape; F32 logits [chunks, vocab] the
     * caller closes, valid until the next step (after a replay, a view of the graph's output). Null
     * when the step has no shape (more sequences than max_num_seqs) or graphs are off: the caller
     * runs it eagerly. Row i's input id is {@code tokenIds[i]} on the device when given (I32 [chunks]),
     * else the chunk's.
     */
    Tensor run(List<ModelRunner.Chunk> chunks, Tensor tokenIds) {
        return step(chunks, tokenIds, false);
    }

    /**
     * {@link #run} of a step whose every row is greedy: the rows' argmax, I32 [chunks] (after a replay
     * a view of the graph's output, valid until the next step; the caller closes it either way), or
     * null as for run.
     */
    Tensor runGreedy(List<ModelRunner.Chunk> chunks, Tensor tokenIds) {
        return step(chunks, tokenIds, true);
    }

    private Tensor step(List<ModelRunner.Chunk> chunks, Tensor tokenIds, boolean greedy) {
        if (disabledReason != null && mode == Mode.GRAPHS) {
            return null;
        }
        int n = chunks.size();
        int batch = batchBucket(batchSizes, n);
        int maxSeq = 0;
        for (ModelRunner.Chunk c : chunks) {
            maxSeq = Math.max(maxSeq, c.start() + 1);
        }
        if (batch < 0 || maxSeq > maxModelLen) {
            return null;
        }
        Shape shape = new Shape(batch, contextBucket(maxSeq, maxModelLen), greedy);
        Backend be = model.context().backend();
        Entry e = entries.get(shape);
        if (e == null) {
            e = new Entry(be.allocate(DType.I32, metadataLength(batch, tableWidth(shape.context, blockSize))));
            entries.put(shape, e);
        }
        int[] m = metadata(chunks, batch, shape.context, blockSize);
        if (tokenIds != null && tokenIds == e.lastTokens) {
            // the previous step replayed this greedy graph, whose argmax wrote these rows' ids in place
            Tensors.writeInts(e.meta.slice(n, m.length - n), java.util.Arrays.copyOfRange(m, n, m.length));
            idsInPlace++;
        } else {
            Tensors.writeInts(e.meta, m);
            if (tokenIds != null) {
                be.copy(new Copy(tokenIds, e.meta.slice(0, n))); // the ids lead the metadata
            }
        }
        e.lastTokens = null;
        if (mode == Mode.PADDED_EAGER || e.eagerRuns == 0) {
            e.eagerRuns++;
            try (Tensor all = body(e.meta, shape)) {
                return firstRows(be, all, n);
            }
        }
        if (e.graph == null && !capture(e, shape)) {
            try (Tensor all = body(e.meta, shape)) {
                return firstRows(be, all, n);
            }
        }
        e.graph.replay();
        Tensor out = e.out.slice(0, n); // a view: closing it frees nothing, and the next replay rewrites it
        if (greedy) {
            e.lastTokens = out;
        }
        return out;
    }

    /** The graph captured for the shape these chunks pad to, or null (profiling: DecodeStepProfile). */
    OpGraph graphFor(List<ModelRunner.Chunk> chunks) {
        int maxSeq = 0;
        for (ModelRunner.Chunk c : chunks) {
            maxSeq = Math.max(maxSeq, c.start() + 1);
        }
        Entry e = entries.get(new Shape(batchBucket(batchSizes, chunks.size()), contextBucket(maxSeq, maxModelLen),
                false));
        return e == null ? null : e.graph;
    }

    private boolean capture(Entry e, Shape shape) {
        Tensor[] out = new Tensor[1];
        try {
            e.graph = model.context().backend().capture(() -> out[0] = body(e.meta, shape));
            e.out = out[0];
            return true;
        } catch (RuntimeException failure) {
            if (out[0] != null) {
                out[0].close();
            }
            disabledReason = "capturing a decode step of " + shape.batch + " sequences failed: " + failure;
            System.err.println("jvllm: decode runs eagerly from now on; " + disabledReason);
            closeGraphs();
            return false;
        }
    }

    /**
     * The forward pass and logits of a padded decode batch whose metadata is in {@code meta}: F32 [B,
     * vocab], or for a greedy shape their rows' argmax, I32 [B].
     */
    private Tensor body(Tensor meta, Shape shape) {
        int b = shape.batch;
        int w = tableWidth(shape.context, blockSize);
        Tensor ids = meta.slice(0, b);
        Tensor pos = meta.slice(b, b);
        Tensor qsl = meta.slice(2 * b, b + 1);
        Tensor lens = meta.slice(3 * b + 1, b);
        Tensor tables = meta.slice(4 * b + 1, b * w).reshape(b, w);
        Tensor slots = meta.slice(4 * b + 1 + b * w, b);
        StateBatch sb = states == null ? null
                : new StateBatch(qsl, meta.slice(5 * b + 1 + b * w, b), meta.slice(6 * b + 1 + b * w, b));
        ForwardContext fc = new ForwardContext(pos, shape.context - 1, qsl, lens, tables, slots, 1, shape.context, kv,
                sb, states);
        Tensor logits;
        try (Tensor hidden = model.forward(ids, fc)) {
            logits = model.computeLogits(hidden);
        }
        if (!shape.greedy) {
            return logits;
        }
        try (logits) {
            // into the ids' own rows: when the next step of this shape takes these tokens as its ids
            // (async scheduling), they are in place and no copy runs between the replays
            model.context().backend().argmax(new Argmax(logits, ids));
            return ids;
        }
    }

    /** A copy of the first {@code n} rows of {@code all} (the real sequences'), which the caller closes. */
    private static Tensor firstRows(Backend be, Tensor all, int n) {
        int[] shape = all.shape().clone();
        shape[0] = n;
        Tensor out = be.allocateUninitialized(all.dtype(), shape); // the copy writes every element
        try {
            be.copy(new Copy(all.slice(0, n), out));
            return out;
        } catch (RuntimeException ex) {
            out.close();
            throw ex;
        }
    }

    private void closeGraphs() {
        for (Entry e : entries.values()) {
            if (e.graph != null) {
                e.graph.close();
                e.graph = null;
            }
            if (e.out != null) {
                e.out.close();
                e.out = null;
            }
        }
    }

    @Override
    public void close() {
        closeGraphs();
        for (Entry e : entries.values()) {
            e.meta.close();
        }
        entries.clear();
    }
}
