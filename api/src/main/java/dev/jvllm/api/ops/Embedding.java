package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Vocab-parallel embedding lookup: {@code out[t] = table[ids[t] - vocabStart]} when
 * {@code vocabStart <= ids[t] < vocabStart + rows(table)}, else a zero row (another rank owns it;
 * an all-reduce sums the shards). ids: I32 [T]; table: [V_shard, H]; out: [T, H]. The row is
 * converted to out's dtype as {@link Cast} does.
 */
public record Embedding(Tensor ids, Tensor table, int vocabStart, Tensor out) implements OpArgs {
    public Embedding {
        Check.rank("embedding", "ids", Check.nonNull("embedding", "ids", ids), 1);
        Check.dtype("embedding", "ids", ids, DType.I32);
        Check.rank("embedding", "table", Check.nonNull("embedding", "table", table), 2);
        Check.shape("embedding", "out", Check.nonNull("embedding", "out", out), ids.dim(0), table.dim(1));
        Check.that(vocabStart >= 0, "embedding", "vocabStart must be >= 0, got " + vocabStart);
    }

    @Override
    public OpKind kind() {
        return OpKind.EMBEDDING;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
