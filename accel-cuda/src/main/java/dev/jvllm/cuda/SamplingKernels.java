package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.api.ops.TopLogprobs;
import java.util.Set;

/**
 * Seeded sampling, penalties and log-softmax top-n ({@code sampling.cu}); argmax is
 * {@link ArgmaxKernels}.
 *
 * <p><b>Sample</b>: one block per row runs the record's steps in its order. Everything that decides
 * which tokens survive is computed as the reference does, bit for bit where the reference's order
 * allows: l = x / t in f32, {@code e = f32(exp(f32(l − max)))} (exp in f64), p = f32(e / S) with S
 * the f64 sum (a fixed tree order here, ascending in the reference: S may differ in its last bits),
 * the min-p threshold {@code minP · max p} in f32, top-k on the f32 l by radix select (exact). The
 * top-p prefix and the draw sum probabilities as 2^-62 fixed-point integers, so every sum is exact
 * and order-free: top-p is a radix select over (p, id) keys weighted by p, finding where the
 * p-descending cumulative mass first reaches {@code topP · mass}; the draw is a block-wide scan of
 * the kept mass in id order, stopping at the first id whose running mass exceeds
 * {@code u · mass}, u from {@link dev.jvllm.api.ops.SamplingRandom} (the same SplitMix64 hash). So a
 * (seed, offset) pair draws the reference's token except where the draw or a filter threshold lies
 * within rounding (~1e-9 of the mass) of a boundary. Scratch: the rows' p, at most 2^24 floats per
 * pass.
 *
 * <p><b>Penalties</b>: the token lists are first checked (an id outside [−1, V) is reported and no
 * logit changes), then counted into a [rows, V] scratch (output counts, prompt bit), then every
 * logit goes through the three steps with the reference's roundings.
 *
 * <p><b>TopLogprobs</b>: per row the exact max, the f64 sum of exps, then a radix select of the n-th
 * largest rank key (value, then lower id), the n keys gathered and bitonic-sorted (in shared memory
 * up to {@value #SHARED_KEYS} keys, else in a global scratch).
 */
final class SamplingKernels implements KernelFamily {
    private static final int THREADS = 1024;
    /** Elements of per-row scratch (probabilities, counts, sort keys) one pass may hold. */
    private static final long SCRATCH_ELEMENTS = 1L << 24;
    /** Largest sort capacity kept in shared memory (16 KiB of keys). */
    static final int SHARED_KEYS = 2048;

    private static final int PROMPT_IDS = 1, OUTPUT_IDS = 2, TOKEN_IDS = 3;

    private final Gpu gpu;

    SamplingKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.SAMPLE, OpKind.PENALTIES, OpKind.TOP_LOGPROBS);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case Sample a -> a.logits().cols() > 0 || a.logits().dim(0) == 0; // a token to draw in every row
            case Penalties a -> true;
            case TopLogprobs a -> true;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case Sample a -> sample(a);
            case Penalties a -> penalties(a);
            case TopLogprobs a -> topLogprobs(a);
            default -> throw new IllegalArgumentException("sampling: " + args.kind().id());
        }
    }

    /** Rows per pass so that rows · perRow scratch elements stay within {@link #SCRATCH_ELEMENTS}. */
    private static int rowsPerPass(long perRow) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, SCRATCH_ELEMENTS / Math.max(1, perRow)));
    }

    private void sample(Sample a) {
        int rows = a.logits().dim(0), vocab = a.logits().cols();
        int step = rowsPerPass(vocab);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int n = Math.min(step, rows - r0);
            try (CudaTensor probs = gpu.temp(DType.F32, n, vocab)) {
                gpu.kernel("smp_sample").grid(n).block(THREADS).view(a.logits().slice(r0, n))
                        .ptr(a.temperature().slice(r0, n)).ptr(a.topK().slice(r0, n)).ptr(a.topP().slice(r0, n))
                        .ptr(a.minP().slice(r0, n)).ptr(a.seeds().slice(r0, n)).ptr(a.offsets().slice(r0, n))
                        .ptr(a.out().slice(r0, n)).ptr(probs).i32(vocab).launch();
            }
        }
    }

    /** Reports the first id of {@code ids} (seen as rows × cols) outside [lo, hi) through the error word. */
    private void checkIds(Tensor ids, long rows, int cols, int lo, int hi, OpKind op, int detail) {
        if (rows * cols > 0) {
            gpu.kernel("smp_check_ids").elements(rows * cols, 256).view(ids).i64(rows).i32(cols).i32(lo).i32(hi)
                    .ptr(gpu.errorWord()).i32(DeviceErrors.code(op, detail)).launch();
        }
    }

    private void penalties(Penalties a) {
        int rows = a.logits().dim(0), vocab = a.logits().cols();
        int promptLen = a.promptTokens().cols(), outputLen = a.outputTokens().cols();
        checkIds(a.promptTokens(), rows, promptLen, -1, vocab, OpKind.PENALTIES, PROMPT_IDS);
        checkIds(a.outputTokens(), rows, outputLen, -1, vocab, OpKind.PENALTIES, OUTPUT_IDS);
        if (rows == 0 || vocab == 0) {
            return;
        }
        int step = rowsPerPass(vocab);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int n = Math.min(step, rows - r0);
            try (CudaTensor counts = gpu.temp(DType.I32, n, vocab)) {
                gpu.kernel("data_fill").elements((long) n * vocab, 256).view(counts).i64(n).i32(vocab).i64(0).launch();
                if (promptLen + outputLen > 0) {
                    gpu.kernel("smp_pen_count").elements((long) n * (promptLen + outputLen), 256)
                            .view(a.promptTokens().slice(r0, n)).view(a.outputTokens().slice(r0, n)).ptr(counts)
                            .i32(n).i32(promptLen).i32(outputLen).i32(vocab).ptr(gpu.errorWord()).launch();
                }
                gpu.kernel("smp_pen_apply").elements((long) n * vocab, 256).view(a.logits().slice(r0, n)).ptr(counts)
                        .ptr(a.repetition().slice(r0, n)).ptr(a.presence().slice(r0, n))
                        .ptr(a.frequency().slice(r0, n)).i32(n).i32(vocab).ptr(gpu.errorWord()).launch();
            }
        }
    }

    private void topLogprobs(TopLogprobs a) {
        int rows = a.logits().dim(0), vocab = a.logits().cols(), n = a.n();
        if (a.tokenIds() != null) {
            checkIds(a.tokenIds(), 1, rows, 0, vocab, OpKind.TOP_LOGPROBS, TOKEN_IDS);
        }
        if (rows == 0 || vocab == 0) {
            return;
        }
        int capacity = n == 0 ? 0 : Integer.highestOneBit(n) == n ? n : Integer.highestOneBit(n) << 1;
        boolean shared = capacity <= SHARED_KEYS;
        int step = shared ? rows : rowsPerPass(capacity);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int b = Math.min(step, rows - r0);
            try (CudaTensor keys = shared ? null : gpu.temp(DType.I64, b, capacity)) {
                Tensor tokenIds = a.tokenIds() == null ? null : a.tokenIds().slice(r0, b);
                Launch l = gpu.kernel("smp_top_logprobs").grid(b).block(THREADS).sharedBytes(shared ? 8 * capacity : 0)
                        .view(a.logits().slice(r0, b)).i32(n).view(a.outIds().slice(r0, b))
                        .view(a.outLogprobs().slice(r0, b));
                if (tokenIds == null) {
                    l.ptr(0).ptr(0);
                } else {
                    l.ptr(tokenIds).ptr(a.tokenLogprob().slice(r0, b));
                }
                (keys == null ? l.ptr(0) : l.ptr(keys)).i32(capacity).i32(vocab).ptr(gpu.errorWord()).launch();
            }
        }
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return switch (detail) {
            case PROMPT_IDS, OUTPUT_IDS -> "penalties: " + (detail == PROMPT_IDS ? "promptTokens" : "outputTokens") + "["
                    + a + ", " + b + "] = " + c + " is outside the vocabulary (the logits' columns); pad with -1";
            case TOKEN_IDS -> "top_logprobs: tokenIds[" + b + "] = " + c
                    + " is outside the vocabulary (the logits' columns); pass real token ids (no padding)";
            default -> KernelFamily.super.describeError(op, detail, a, b, c);
        };
    }
}
