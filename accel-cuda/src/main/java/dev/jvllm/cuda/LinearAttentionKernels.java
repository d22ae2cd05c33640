package dev.jvllm.cuda;

import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/**
 * MiniMax-Text-01's lightning attention ({@code linear_attention.cu}): {@link LinearAttention} over a
 * varlen batch, prefill and one-token decode alike. q, k, v and out F32/BF16/F16 in any mix; slopes
 * and the state F32 (the record requires it); head sizes up to {@value #MAX_HEAD_SIZE}.
 *
 * <p>One block per (sequence, head, 32 state columns): the [D, D] state stays in registers (eight
 * warps, each holding every eighth row of the block's columns) for the whole sequence, which is
 * walked token by token as the CPU reference's recurrence. Sequences, heads and column blocks run in
 * parallel (MiniMax: 64 heads × 4 column blocks per sequence); time is sequential. The blocked
 * "lightning" prefill (intra-chunk attention plus one state update per chunk) is the next step for
 * long prompts. Every op first runs {@link StateBatchCheck}.
 */
final class LinearAttentionKernels implements KernelFamily {
    /** Largest head size: 8 warps × 32 rows each per column (linear_attention.cu). */
    static final int MAX_HEAD_SIZE = 256;
    private static final int COLS = 32;
    private static final int THREADS = 256;

    private final Gpu gpu;

    LinearAttentionKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.LINEAR_ATTENTION);
    }

    @Override
    public boolean supports(OpArgs args) {
        return args instanceof LinearAttention a && ActivationDtypes.supported(a.q(), a.k(), a.v(), a.out())
                && a.kvStates().dim(2) <= MAX_HEAD_SIZE;
    }

    @Override
    public void run(OpArgs args) {
        if (!(args instanceof LinearAttention a)) {
            throw new IllegalArgumentException("linear_attention: " + args.kind().id());
        }
        int numSeqs = a.batch().numSeqs(), heads = a.kvStates().dim(1), d = a.kvStates().dim(2);
        if (numSeqs == 0 || heads == 0 || d == 0) {
            return;
        }
        try (CudaTensor ok = StateBatchCheck.launch(gpu, gpu.kernel("linear_attention_check_batch"), a.kind(),
                a.batch().queryStartLoc(), a.batch().stateIndices(), a.q().dim(0), a.kvStates().dim(0))) {
            gpu.kernel("linear_attention_scan").grid(numSeqs, heads, (d + COLS - 1) / COLS).block(THREADS)
                    .view(a.q()).view(a.k()).view(a.v()).view(a.slopes()).view(a.kvStates(), d).view(a.out())
                    .ptr(a.batch().queryStartLoc()).ptr(a.batch().stateIndices()).ptr(a.batch().hasInitialState())
                    .i32(heads).i32(d).i32(ActivationDtypes.common(a.q(), a.k(), a.v())).ptr(ok).launch();
        }
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        String m = StateBatchCheck.describe(op, detail, a, b, c);
        return m != null ? m : KernelFamily.super.describeError(op, detail, a, b, c);
    }
}
