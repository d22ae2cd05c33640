package dev.jvllm.models.layers;

import java.util.List;

/**
 * The fused q|k|v projection with vLLM's head placement. Query heads are split evenly; KV heads
 * too when {@code tp <= totalKvHeads}, else each rank holds one KV head, replicated over
 * {@code tp / totalKvHeads} ranks (rank r holds KV head {@code r / replicas}). Shard ids
 * {@code "q"}, {@code "k"}, {@code "v"}; a fused {@code qkv_proj} on disk ([q; k; v] rows by head
 * counts, as Phi-3 stores it) fills all three. Output of rank r: {@code [q_r | k_r | v_r]}.
 */
public class QKVParallelLinear extends LinearBase {
    private final int numHeads;
    private final int numKvHeads;
    private final int headSize;

    public QKVParallelLinear(ModelContext ctx, String prefix, int hiddenSize, int headSize, int totalHeads,
            int totalKvHeads, boolean bias) {
        this(ctx, prefix, hiddenSize, headSize, totalHeads, totalKvHeads, bias, false);
    }

    /** @param transposedOnDisk GPT-2's Conv1D {@code c_attn}: W stored as [in, 3·out] */
    public QKVParallelLinear(ModelContext ctx, String prefix, int hiddenSize, int headSize, int totalHeads,
            int totalKvHeads, boolean bias, boolean transposedOnDisk) {
        super(ctx, prefix, hiddenSize, hiddenSize, 0, bias, shards(ctx, prefix, headSize, totalHeads, totalKvHeads),
                transposedOnDisk);
        ParallelConfig p = ctx.parallel();
        this.numHeads = totalHeads / p.tpSize();
        this.numKvHeads = kvHeadsPerRank(p, totalKvHeads, prefix);
        this.headSize = headSize;
    }

    private static int kvHeadsPerRank(ParallelConfig p, int totalKv, String prefix) {
        if (p.tpSize() >= totalKv) {
            if (p.tpSize() % totalKv != 0) {
                throw new IllegalArgumentException(prefix + ": tensor_parallel_size=" + p.tpSize()
                        + " is not a multiple of num_key_value_heads=" + totalKv);
            }
            return 1;
        }
        return p.divide(totalKv, prefix + " num_key_value_heads");
    }

    private static List<Shard> shards(ModelContext ctx, String prefix, int headSize, int totalHeads, int totalKv) {
        ParallelConfig p = ctx.parallel();
        int heads = p.divide(totalHeads, prefix + " num_attention_heads");
        int kv = kvHeadsPerRank(p, totalKv, prefix);
        int replicas = Math.max(1, p.tpSize() / totalKv);
        int kvStart = (p.tpRank() / replicas) * kv * headSize;
        int q = heads * headSize;
        int k = kv * headSize;
        return List.of(
                new Shard("q", totalHeads * headSize, p.tpRank() * q, q, 0),
                new Shard("k", totalKv * headSize, kvStart, k, q),
                new Shard("v", totalKv * headSize, kvStart, k, q + k));
    }

    /** Query heads on this rank. */
    public int numHeads() {
        return numHeads;
    }

    /** KV heads on this rank (1 when replicated). */
    public int numKvHeads() {
        return numKvHeads;
    }

    public int headSize() {
        return headSize;
    }
}
