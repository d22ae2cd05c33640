package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.Embedding;
import dev.jvllm.models.loader.CheckpointTensor;

/**
 * The token embedding, split by vocabulary rows over the ranks (vLLM's
 * {@code VocabParallelEmbedding}): the vocabulary is padded to a multiple of {@value #PAD},
 * rank r owns rows {@code [r·P/tp, (r+1)·P/tp)} of the padded table, padding rows are zero, ids
 * another rank owns give zero rows here, and an all-reduce sums the shards.
 */
public class VocabParallelEmbedding extends Module {
    /** vLLM's DEFAULT_VOCAB_PADDING_SIZE. */
    public static final int PAD = 64;

    protected final int vocabSize;
    protected final int paddedVocab;
    protected final int hidden;
    protected final int shardStart; // first padded-vocab row this rank owns
    protected final int shardRows;
    protected final boolean replicated;
    protected Tensor table;         // [shardRows, hidden]

    public VocabParallelEmbedding(ModelContext ctx, String prefix, int vocabSize, int hidden) {
        this(ctx, prefix, vocabSize, hidden, false);
    }

    /**
     * @param replicated every rank holds all rows, unpadded, and no all-reduce follows (tables
     *     indexed by something other than the vocabulary, e.g. learned positions)
     */
    public VocabParallelEmbedding(ModelContext ctx, String prefix, int vocabSize, int hidden, boolean replicated) {
        super(ctx, prefix);
        this.vocabSize = vocabSize;
        this.hidden = hidden;
        this.replicated = replicated;
        ParallelConfig p = ctx.parallel();
        if (replicated) {
            this.paddedVocab = vocabSize;
            this.shardRows = vocabSize;
            this.shardStart = 0;
        } else {
            this.paddedVocab = (vocabSize + PAD - 1) / PAD * PAD;
            this.shardRows = p.divide(paddedVocab, prefix + " padded vocab");
            this.shardStart = p.tpRank() * shardRows;
        }
        param("weight", (t, id) -> table = loadRows(t));
    }

    /** The real vocabulary size (config.json's vocab_size). */
    public int vocabSize() {
        return vocabSize;
    }

    /** Rows of the padded table across all ranks. */
    public int paddedVocab() {
        return paddedVocab;
    }

    /** This rank's rows of the table: [shardRows, hidden]. */
    public Tensor table() {
        if (table == null) {
            throw new IllegalStateException(prefix + ".weight not loaded");
        }
        return table;
    }

    /** First padded-vocab row this rank owns. */
    public int shardStart() {
        return shardStart;
    }

    /** out [T, hidden] = the embedding rows of ids [T] (summed over ranks). */
    public void forward(Tensor ids, Tensor out) {
        ctx.backend().embedding(new Embedding(ids, table(), shardStart, out));
        if (!replicated && ctx.parallel().tpSize() > 1) {
            ctx.parallel().comm().allReduceSum(out);
        }
    }

    /** This rank's rows of a [vocab, hidden] checkpoint tensor, zero rows for padding. */
    private Tensor loadRows(CheckpointTensor t) {
        long[] s = t.shape();
        if (s.length != 2 || s[0] != vocabSize || s[1] != hidden) {
            throw new IllegalArgumentException("tensor " + t.name() + " has shape " + t.shapeString() + ", expected ["
                    + vocabSize + ", " + hidden + "] (vocab_size, hidden_size in config.json)");
        }
        if (!t.dtype().isFloat()) {
            throw new IllegalArgumentException("tensor " + t.name() + " is " + t.dtype() + ", expected F32/F16/BF16");
        }
        Backend b = ctx.backend();
        DType dst = ctx.weightDType(t.dtype());
        int real = Math.max(0, Math.min(shardRows, vocabSize - shardStart));
        long rowBytes = (long) hidden * t.dtype().byteSize();
        if (real == shardRows) { // no padding in this shard: use the checkpoint rows in place
            Tensor v = ctx.own(b.wrap(t.data().asSlice(shardStart * rowBytes, shardRows * rowBytes), t.dtype(),
                    shardRows, hidden));
            if (v.dtype() == dst) {
                return v;
            }
            Tensor out = ctx.own(b.allocate(dst, shardRows, hidden));
            b.cast(new Cast(v, out));
            return out;
        }
        Tensor out = ctx.own(b.allocate(dst, shardRows, hidden)); // zero-filled: the padding rows
        if (real > 0) {
            Tensor v = ctx.own(b.wrap(t.data().asSlice(shardStart * rowBytes, real * rowBytes), t.dtype(), real,
                    hidden));
            b.cast(new Cast(v, out.slice(0, real)));
        }
        return out;
    }

    /** For tests and tools: the table rows as floats. */
    float[] tableFloats() {
        return Tensors.toFloats(table());
    }
}
