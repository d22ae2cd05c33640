package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.Rows;

/**
 * The validated metadata of one {@link PagedAttention} call: where each sequence's queries are,
 * how long it is, and which cache blocks hold its tokens. Both forms of the kernel read it, so
 * both reject the same malformed batches with the same message.
 *
 * <p>Sequence b: query tokens {@code [qStart[b], qStart[b+1])}, {@code seqLen[b]} cache tokens,
 * cache token j in block {@code blockTable[b * maxBlocks + j / blockSize]}.
 */
record AttentionBatch(int[] qStart, int[] seqLen, int[] blockTable, int maxBlocks, int blockSize, int numBlocks) {

    static AttentionBatch of(PagedAttention a) {
        int n = a.numSeqs();
        int[] qs = Rows.ints(a.queryStartLoc());
        int[] sl = Rows.ints(a.seqLens());
        int[] bt = Rows.ints(a.blockTables());
        int maxBlocks = a.blockTables().cols();
        int blockSize = a.blockSize();
        int numBlocks = a.kCache().dim(0);
        int tokens = a.q().dim(0);
        for (int b = 0; b <= n; b++) {
            if (qs[b] < 0 || qs[b] > tokens || b > 0 && qs[b] < qs[b - 1]) {
                throw new IllegalArgumentException("paged_attention: queryStartLoc must be non-decreasing within [0, T="
                        + tokens + "], got queryStartLoc[" + b + "] = " + qs[b]);
            }
        }
        for (int b = 0; b < n; b++) {
            if (sl[b] < 0) {
                throw new IllegalArgumentException("paged_attention: seqLens[" + b + "] = " + sl[b] + " is negative");
            }
            int need = (sl[b] + blockSize - 1) / blockSize;
            if (need > maxBlocks) {
                throw new IllegalArgumentException("paged_attention: sequence " + b + " has " + sl[b]
                        + " tokens = " + need + " blocks of " + blockSize + ", but blockTables has " + maxBlocks
                        + " columns; widen blockTables");
            }
            for (int i = 0; i < need; i++) {
                int blk = bt[b * maxBlocks + i];
                if (blk < 0 || blk >= numBlocks) {
                    throw new IllegalArgumentException("paged_attention: blockTables[" + b + ", " + i + "] = " + blk
                            + " is outside the cache's " + numBlocks + " blocks (sequence " + b + " needs it for tokens "
                            + i * blockSize + ".." + Math.min(sl[b] - 1, (i + 1) * blockSize - 1) + ")");
                }
            }
        }
        return new AttentionBatch(qs, sl, bt, maxBlocks, blockSize, numBlocks);
    }

    int numSeqs() {
        return seqLen.length;
    }

    int queryLen(int b) {
        return qStart[b + 1] - qStart[b];
    }

    /** The cache slot (block · B + offset) of sequence b's token j. */
    int slot(int b, int j) {
        return blockTable[b * maxBlocks + j / blockSize] * blockSize + j % blockSize;
    }

    /** First allowed key of the query at position p (window: the current token and W−1 earlier ones). */
    static int firstKey(int p, int slidingWindow) {
        return slidingWindow > 0 ? Math.max(0, p - slidingWindow + 1) : 0;
    }
}
