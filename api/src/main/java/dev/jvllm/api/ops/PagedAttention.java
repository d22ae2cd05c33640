package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Attention over the paged KV cache for a flat batch that mixes prefills and decodes.
 *
 * <p>Sequence b owns query tokens {@code [queryStartLoc[b], queryStartLoc[b+1])} (q_len of them)
 * and has {@code L = seqLens[b]} tokens in the cache (its new tokens included, already written by
 * {@link KvCacheWrite}); its cache token j lives in block {@code blockTables[b, j / B]} at offset
 * {@code j % B}. The queries are the last q_len positions: query i sits at position
 * {@code p = L − q_len + i} (end-aligned causal mask) and attends to cache tokens j with
 * {@code j <= p} and, when {@code slidingWindow > 0}, {@code j > p − slidingWindow} (the current
 * token plus W−1 earlier ones). Query head h reads KV head {@code h / (numHeads / numKvHeads)}.
 *
 * <p>Per head: {@code s_j = scale · q·k_j} in f32; when {@code softCap > 0},
 * {@code s_j = softCap · tanh(s_j / softCap)}; then softmax over the allowed j (max-subtracted, f32)
 * and {@code out = Σ p_j v_j}, rounded once to out's dtype. A query with no allowed key (cannot
 * happen for L ≥ q_len) yields zeros. Rows of out that belong to no sequence (before
 * {@code queryStartLoc[0]} or from {@code queryStartLoc[numSeqs]} on: padding) are written as zeros.
 *
 * <p>q, out: [T, numHeads·headSize]; kCache, vCache: [numBlocks, B, numKvHeads, headSize];
 * queryStartLoc: I32 [numSeqs+1]; seqLens: I32 [numSeqs]; blockTables: I32 [numSeqs, maxBlocks].
 * maxQueryLen and maxSeqLen are upper bounds over the batch (hints for kernel launch shapes).
 */
public record PagedAttention(Tensor q, Tensor kCache, Tensor vCache, Tensor out, Tensor queryStartLoc,
        Tensor seqLens, Tensor blockTables, int numHeads, int numKvHeads, int headSize, float scale,
        int slidingWindow, float softCap, int maxQueryLen, int maxSeqLen) implements OpArgs {
    public PagedAttention {
        String op = "paged_attention";
        Check.positive(op, "numHeads", numHeads);
        Check.positive(op, "numKvHeads", numKvHeads);
        Check.positive(op, "headSize", headSize);
        Check.that(numHeads % numKvHeads == 0, op, "numHeads=" + numHeads + " is not a multiple of numKvHeads="
                + numKvHeads);
        Check.rank(op, "q", Check.nonNull(op, "q", q), 2);
        Check.that(q.cols() == numHeads * headSize, op, "q " + q.describe() + " must have numHeads*headSize="
                + numHeads * headSize + " columns");
        Check.sameShape(op, "q", q, "out", Check.nonNull(op, "out", out));
        Check.rank(op, "kCache", Check.nonNull(op, "kCache", kCache), 4);
        Check.shape(op, "kCache", kCache, -1, -1, numKvHeads, headSize);
        Check.sameShape(op, "kCache", kCache, "vCache", Check.nonNull(op, "vCache", vCache));
        Check.contiguous(op, "kCache", kCache);
        Check.contiguous(op, "vCache", vCache);
        Check.rank(op, "seqLens", Check.nonNull(op, "seqLens", seqLens), 1);
        int b = seqLens.dim(0);
        Check.shape(op, "queryStartLoc", Check.nonNull(op, "queryStartLoc", queryStartLoc), b + 1);
        Check.rank(op, "blockTables", Check.nonNull(op, "blockTables", blockTables), 2);
        Check.that(blockTables.dim(0) == b, op, "blockTables " + blockTables.describe() + " must have " + b + " rows");
        Check.dtype(op, "queryStartLoc", queryStartLoc, DType.I32);
        Check.dtype(op, "seqLens", seqLens, DType.I32);
        Check.dtype(op, "blockTables", blockTables, DType.I32);
        Check.that(slidingWindow >= 0, op, "slidingWindow must be >= 0 (0 = none), got " + slidingWindow);
        Check.that(softCap >= 0, op, "softCap must be >= 0 (0 = none), got " + softCap);
        Check.that(maxQueryLen >= 0 && maxSeqLen >= maxQueryLen, op, "need 0 <= maxQueryLen <= maxSeqLen, got "
                + maxQueryLen + ", " + maxSeqLen);
    }

    /** Number of sequences in the batch. */
    public int numSeqs() {
        return seqLens.dim(0);
    }

    /** Tokens per cache block. */
    public int blockSize() {
        return kCache.dim(1);
    }

    @Override
    public OpKind kind() {
        return OpKind.PAGED_ATTENTION;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
