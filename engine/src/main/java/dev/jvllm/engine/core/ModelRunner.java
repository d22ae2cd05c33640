package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.Attention;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.KvCache;
import dev.jvllm.models.layers.ModelContext;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one flat varlen batch through the model: builds the {@link ForwardContext} (positions,
 * query_start_loc, seq_lens, block tables, slot mapping, state slots) from the scheduled chunks,
 * runs the forward pass on every rank, and returns the logits of the rows the engine asked for.
 *
 * <p>It owns the device memory the batch reads and writes besides the weights: per rank, one paged
 * KV cache {@code [numBlocks, blockSize, numKvHeads, headSize]} (k and v) per attention layer, and
 * one pool {@code [numStateSlots, ...]} per state tensor of each stateful layer (Mamba, Mamba-2,
 * short conv, linear attention). Hybrid models get both. Block ids and state slots come from the
 * scheduler; the runner only trusts them.
 *
 * <p>Decode-only steps go through {@link DecodeGraphs} unless the mode is {@code EAGER}: padded to a
 * captured shape and replayed from an op graph where the backend captures (CUDA), eagerly otherwise.
 * Graphs need one rank: a tensor-parallel step's collectives are not captured yet.
 *
 * <p>Not thread-safe: the engine thread calls it.
 */
final class ModelRunner implements AutoCloseable {

    /**
     * One sequence's share of the batch: tokens {@code [start, start + tokens.length)} of it.
     *
     * @param tokens     the ids to run
     * @param start      the position of the first (the tokens before it are in the KV cache / state)
     * @param blockTable the sequence's cache blocks, covering at least {@code start + tokens.length} tokens
     * @param stateSlot  the sequence's state slot, or −1 when the model has no stateful layer
     * @param logitRows  offsets into {@code tokens} whose logits the engine wants (ascending)
     */
    record Chunk(int[] tokens, int start, int[] blockTable, int stateSlot, int[] logitRows) {
    }

    private final ModelRanks ranks;
    private final int blockSize;
    private final int numBlocks;
    private final int numStateSlots;
    private final boolean stateful;
    private final List<Map<String, KvCache>> kvByRank = new ArrayList<>();
    private final List<Map<String, List<Tensor>>> statesByRank = new ArrayList<>();
    private final List<Tensor> owned = new ArrayList<>();
    private final DecodeGraphs graphs; // null: every step eager
    private final String graphsOff;

    /** A runner whose decode-only steps run eagerly (as any other step). */
    ModelRunner(ModelRanks ranks, int numBlocks, int blockSize, int numStateSlots) {
        this(ranks, numBlocks, blockSize, numStateSlots, 1, 1, DecodeGraphs.Mode.EAGER);
    }

    /**
     * @param maxNumSeqs  the largest batch (the largest decode shape)
     * @param maxModelLen the longest sequence (the largest context shape)
     * @param decodes     how decode-only steps run
     */
    ModelRunner(ModelRanks ranks, int numBlocks, int blockSize, int numStateSlots, int maxNumSeqs, int maxModelLen,
            DecodeGraphs.Mode decodes) {
        this.ranks = ranks;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.numStateSlots = numStateSlots;
        this.stateful = !ranks.first().context().stateLayers().isEmpty();
        try {
            for (int r = 0; r < ranks.size(); r++) {
                allocate(ranks.rank(r).context());
            }
            if (decodes == DecodeGraphs.Mode.EAGER) {
                graphs = null;
                graphsOff = "eager mode (enforce-eager)";
            } else if (ranks.size() > 1) {
                graphs = null;
                graphsOff = "tensor parallel (" + ranks.size() + " ranks): collectives are not captured yet";
            } else {
                graphs = new DecodeGraphs(ranks.first(), decodes, maxNumSeqs, maxModelLen, blockSize,
                        kvByRank.getFirst(), stateful ? statesByRank.getFirst() : null);
                graphsOff = null;
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            throw e;
        }
    }

    private void allocate(ModelContext ctx) {
        Backend b = ctx.backend();
        Map<String, KvCache> kv = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : ctx.attentionLayers().entrySet()) {
            Attention a = (Attention) e.getValue();
            Tensor k = own(b.allocate(ctx.activationDType(), numBlocks, blockSize, a.numKvHeads(), a.headSize()));
            Tensor v = own(b.allocate(ctx.activationDType(), numBlocks, blockSize, a.numKvHeads(), a.headSize()));
            kv.put(e.getKey(), new KvCache(k, v));
        }
        Map<String, List<Tensor>> states = new LinkedHashMap<>();
        for (Map.Entry<String, List<ModelContext.StateSpec>> e : ctx.stateLayers().entrySet()) {
            List<Tensor> pools = new ArrayList<>();
            for (ModelContext.StateSpec spec : e.getValue()) {
                int[] shape = new int[spec.shape().length + 1];
                shape[0] = numStateSlots;
                System.arraycopy(spec.shape(), 0, shape, 1, spec.shape().length);
                pools.add(own(b.allocate(spec.dtype(), shape)));
            }
            states.put(e.getKey(), pools);
        }
        kvByRank.add(kv);
        statesByRank.add(states);
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** Bytes of one KV block over all attention layers of one rank (0 for attention-free models). */
    static long kvBytesPerBlock(ModelContext ctx, int blockSize) {
        long bytes = 0;
        for (Object layer : ctx.attentionLayers().values()) {
            Attention a = (Attention) layer;
            bytes += 2L * blockSize * a.numKvHeads() * a.headSize() * ctx.activationDType().byteSize();
        }
        return bytes;
    }

    /** Bytes of one sequence's state over all stateful layers of one rank. */
    static long stateBytesPerSlot(ModelContext ctx) {
        long bytes = 0;
        for (List<ModelContext.StateSpec> specs : ctx.stateLayers().values()) {
            for (ModelContext.StateSpec s : specs) {
                long n = s.dtype().byteSize();
                for (int d : s.shape()) {
                    n *= d;
                }
                bytes += n;
            }
        }
        return bytes;
    }

    /**
     * Runs the chunks as one flat batch (in the given order) and returns F32 logits
     * {@code [R, vocab]} of the requested rows, chunk by chunk, on rank 0's backend (the caller
     * closes them, and reads them before the next call: a decode step replayed from a graph returns a
     * view of the graph's output); null when no row was requested.
     */
    Tensor execute(List<Chunk> chunks) {
        return execute(chunks, null);
    }

    /**
     * The greedy tokens of a decode-only step ({@link DecodeGraphs#isDecode}): the rows' argmax of
     * {@link #execute(List, Tensor)}'s logits, I32 [chunks] on rank 0's backend, which the caller
     * closes and reads before the next call. A step replayed from a graph runs the argmax inside it.
     */
    Tensor executeGreedy(List<Chunk> chunks, Tensor tokenIds) {
        if (!DecodeGraphs.isDecode(chunks)) {
            throw new IllegalArgumentException("executeGreedy takes decode-only steps (one token and its logits per chunk)");
        }
        checkDeviceIds(chunks, tokenIds);
        if (graphs != null) {
            Tensor tokens = graphs.runGreedy(chunks, tokenIds);
            if (tokens != null) {
                return tokens;
            }
        }
        try (Tensor logits = execute(chunks, tokenIds)) {
            return Sampler.argmax(logits);
        }
    }

    private void checkDeviceIds(List<Chunk> chunks, Tensor tokenIds) {
        if (tokenIds != null && (ranks.size() != 1 || !DecodeGraphs.isDecode(chunks) || tokenIds.numel() != chunks.size())) {
            throw new IllegalArgumentException("device-side input ids need one rank and a decode-only step of "
                    + tokenIds.numel() + " sequences; got " + ranks.size() + " ranks and " + chunks.size() + " chunks");
        }
    }

    /**
     * {@link #execute(List)} of a decode-only step whose input ids are on the device already: row i's
     * id is {@code tokenIds[i]} (I32 [chunks], e.g. the previous step's sampled tokens), and the
     * chunks' own ids are ignored. One rank only (the ids live on its backend).
     */
    Tensor execute(List<Chunk> chunks, Tensor tokenIds) {
        checkDeviceIds(chunks, tokenIds);
        if (graphs != null && DecodeGraphs.isDecode(chunks)) {
            Tensor logits = graphs.run(chunks, tokenIds);
            if (logits != null) {
                return logits;
            }
        }
        int b = chunks.size();
        int t = 0;
        int maxBlocks = 1;
        int rows = 0;
        for (Chunk c : chunks) {
            t += c.tokens().length;
            maxBlocks = Math.max(maxBlocks, c.blockTable().length);
            rows += c.logitRows().length;
        }
        int[] ids = new int[t];
        int[] positions = new int[t];
        int[] slots = new int[t];
        int[] qsl = new int[b + 1];
        int[] seqLens = new int[b];
        int[] tables = new int[b * maxBlocks];
        int[] stateSlots = new int[b];
        int[] hasState = new int[b];
        int[] logitIdx = new int[rows];
        int maxQuery = 0;
        int maxSeq = 0;
        int tok = 0;
        int row = 0;
        for (int i = 0; i < b; i++) {
            Chunk c = chunks.get(i);
            int n = c.tokens().length;
            int end = c.start() + n;
            if (c.blockTable().length * blockSize < end) {
                throw new IllegalStateException("chunk up to position " + end + " has only " + c.blockTable().length
                        + " blocks of " + blockSize);
            }
            for (int j = 0; j < n; j++) {
                int p = c.start() + j;
                ids[tok + j] = c.tokens()[j];
                positions[tok + j] = p;
                slots[tok + j] = c.blockTable()[p / blockSize] * blockSize + p % blockSize;
            }
            for (int off : c.logitRows()) {
                logitIdx[row++] = tok + off;
            }
            System.arraycopy(c.blockTable(), 0, tables, i * maxBlocks, c.blockTable().length);
            stateSlots[i] = c.stateSlot();
            hasState[i] = c.start() > 0 ? 1 : 0; // a sequence's first chunk starts from zero state
            tok += n;
            qsl[i + 1] = tok;
            seqLens[i] = end;
            maxQuery = Math.max(maxQuery, n);
            maxSeq = Math.max(maxSeq, end);
        }
        int maxBlocksF = maxBlocks;
        int maxQueryF = maxQuery;
        int maxSeqF = maxSeq;
        Map<CausalLM, Integer> rankOf = new IdentityHashMap<>();
        for (int r = 0; r < ranks.size(); r++) {
            rankOf.put(ranks.rank(r), r);
        }
        List<Tensor> logits = ranks.run(m -> runRank(m, rankOf.get(m), ids, tokenIds, positions, slots, qsl, seqLens,
                tables, maxBlocksF, stateSlots, hasState, logitIdx, maxQueryF, maxSeqF));
        for (int r = 1; r < logits.size(); r++) {
            if (logits.get(r) != null) {
                logits.get(r).close();
            }
        }
        return logits.get(0);
    }

    private Tensor runRank(CausalLM m, int rank, int[] ids, Tensor tokenIds, int[] positions, int[] slots, int[] qsl,
            int[] seqLens, int[] tables, int maxBlocks, int[] stateSlots, int[] hasState, int[] logitIdx, int maxQuery,
            int maxSeq) {
        Backend be = m.context().backend();
        int b = seqLens.length;
        // one upload for the step's metadata, each piece a view of it: on a GPU every small tensor
        // costs an allocation and a host-to-device copy, nine per decode step otherwise
        int[][] pieces = {ids, positions, qsl, seqLens, tables, slots, stateSlots, hasState, logitIdx};
        try (Tensor meta = Tensors.fromInts(be, concat(pieces), Math.max(1, total(pieces)))) {
            Tensor[] v = views(meta, pieces);
            Tensor idsT = v[0], pos = v[1], qslT = v[2], lens = v[3], slotT = v[5], idx = v[8];
            if (tokenIds != null) {
                be.copy(new Copy(tokenIds, idsT));
            }
            Tensor tablesT = v[4].reshape(b, maxBlocks);
            StateBatch sb = stateful ? new StateBatch(qslT, v[6], v[7]) : null;
            ForwardContext fc = new ForwardContext(pos, maxSeq - 1, qslT, lens, tablesT, slotT, maxQuery, maxSeq,
                    kvByRank.get(rank), sb, stateful ? statesByRank.get(rank) : null);
            try (Tensor hidden = m.forward(idsT, fc)) {
                if (logitIdx.length == 0) {
                    return null;
                }
                try (Tensor picked = be.allocate(hidden.dtype(), logitIdx.length, hidden.cols())) {
                    be.gatherRows(new GatherRows(hidden, idx, picked));
                    return m.computeLogits(picked);
                }
            }
        }
    }

    private static int total(int[][] pieces) {
        int n = 0;
        for (int[] p : pieces) {
            n += p.length;
        }
        return n;
    }

    private static int[] concat(int[][] pieces) {
        int[] all = new int[Math.max(1, total(pieces))];
        int at = 0;
        for (int[] p : pieces) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /** Consecutive 1-D views of {@code meta}, one per piece, of the piece's length. */
    private static Tensor[] views(Tensor meta, int[][] pieces) {
        Tensor[] v = new Tensor[pieces.length];
        int at = 0;
        for (int i = 0; i < pieces.length; i++) {
            v[i] = meta.slice(at, pieces[i].length);
            at += pieces[i].length;
        }
        return v;
    }

    /** The decode graphs, or null when every step runs eagerly (profiling). */
    DecodeGraphs graphs() {
        return graphs;
    }

    /** Why decode steps are not replayed from graphs, or null when they are. */
    String graphsOffReason() {
        return graphs == null ? graphsOff : graphs.disabledReason();
    }

    /** Decode shapes captured into graphs so far. */
    int capturedShapes() {
        return graphs == null ? 0 : graphs.capturedShapes();
    }

    @Override
    public void close() {
        if (graphs != null) {
            graphs.close();
        }
        for (Tensor t : owned) {
            t.close();
        }
        owned.clear();
    }
}
