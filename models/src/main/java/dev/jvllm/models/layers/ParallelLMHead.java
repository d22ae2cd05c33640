package dev.jvllm.models.layers;

/**
 * The LM head: a vocab-parallel weight holder (vLLM's {@code ParallelLMHead}). With tied word
 * embeddings it shares the embedding's table and declares no parameter, so a checkpoint's
 * {@code lm_head.weight} is skipped by the model's loader.
 */
public final class ParallelLMHead extends VocabParallelEmbedding {
    private final VocabParallelEmbedding tiedTo;

    /** An untied head with its own {@code prefix.weight}. */
    public ParallelLMHead(ModelContext ctx, String prefix, int vocabSize, int hidden) {
        super(ctx, prefix, vocabSize, hidden);
        this.tiedTo = null;
    }

    private ParallelLMHead(ModelContext ctx, String prefix, VocabParallelEmbedding embedding) {
        super(ctx, prefix + "<tied>", embedding.vocabSize(), embedding.hidden);
        this.tiedTo = embedding;
    }

    /**
     * A head tied to the embedding: it reads the embedding's table and has no parameter of its own.
     * The head's name carries a {@code <tied>} marker so it never matches a checkpoint name.
     */
    public static ParallelLMHead tied(ModelContext ctx, String prefix, VocabParallelEmbedding embedding) {
        return new ParallelLMHead(ctx, prefix, embedding);
    }

    @Override
    public dev.jvllm.api.Tensor table() {
        return tiedTo != null ? tiedTo.table() : super.table();
    }

    @Override
    protected java.util.Collection<Param> ownParameters() {
        return tiedTo != null ? java.util.List.of() : super.ownParameters();
    }
}
