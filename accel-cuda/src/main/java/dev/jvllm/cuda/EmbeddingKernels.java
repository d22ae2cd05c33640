package dev.jvllm.cuda;

import dev.jvllm.api.ops.Embedding;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/**
 * Vocab-parallel embedding lookup ({@code embedding.cu}): rows of this shard copied (same dtype) or
 * converted as cast does, ids of other shards give zero rows. Table and out F32/F16/BF16.
 */
final class EmbeddingKernels implements KernelFamily {
    private final Gpu gpu;

    EmbeddingKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.EMBEDDING);
    }

    @Override
    public boolean supports(OpArgs args) {
        return args instanceof Embedding a && ElementwiseKernels.floats(a.table(), a.out());
    }

    @Override
    public void run(OpArgs args) {
        Embedding a = (Embedding) args;
        int tokens = a.ids().dim(0), hidden = a.table().cols();
        if (tokens == 0 || hidden == 0) {
            return;
        }
        gpu.kernel("emb_lookup").dependent().rowsCols(tokens, hidden)
                .ptr(a.ids()).view(a.table()).view(a.out()).i32(tokens).i32(hidden).i32(a.vocabStart())
                .i32(a.table().dim(0)).launch();
    }
}
