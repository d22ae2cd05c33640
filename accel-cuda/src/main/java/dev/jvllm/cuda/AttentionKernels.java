package dev.jvllm.cuda;

import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.PagedAttention;
import java.util.Set;

/**
 * KV-cache write and paged attention ({@code attention.cu}).
 *
 * <p>Paged attention here is the correctness-first form: one block of four warps per (query token,
 * query head), each warp an online softmax over every fourth allowed key, merged at the end; any
 * mix of prefills, chunked prefills and decodes, GQA, sliding window, soft-cap, head sizes up to
 * 256, block sizes of any value, cache F32/F16/BF16. Flash-style tiling (K/V tiles in shared memory
 * shared by the query heads of a KV head, split-K decode) is the next step for speed.
 */
final class AttentionKernels implements KernelFamily {
    /** Largest head size the attention kernel holds in registers (attention.cu: 32 lanes x MAX_PER_LANE). */
    static final int MAX_HEAD_SIZE = 256;
    private static final int WRITE_DETAIL = 1;

    private final Gpu gpu;

    AttentionKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.KV_CACHE_WRITE, OpKind.PAGED_ATTENTION);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case KvCacheWrite a -> ElementwiseKernels.floats(a.k(), a.v(), a.kCache(), a.vCache());
            case PagedAttention a -> ElementwiseKernels.floats(a.q(), a.out(), a.kCache())
                    && a.kCache().dtype() == a.vCache().dtype() && a.headSize() <= MAX_HEAD_SIZE && a.blockSize() > 0;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case KvCacheWrite a -> write(a);
            case PagedAttention a -> attend(a);
            default -> throw new IllegalArgumentException("attention: " + args.kind().id());
        }
    }

    private void write(KvCacheWrite a) {
        int tokens = a.slotMapping().dim(0);
        int width = a.kCache().dim(2) * a.kCache().dim(3);
        long capacity = (long) a.kCache().dim(0) * a.kCache().dim(1);
        if (tokens == 0 || width == 0) {
            return;
        }
        gpu.kernel("attn_kv_write").grid(tokens).block(Math.min(256, Math.max(32, (width + 31) / 32 * 32)))
                .view(a.k()).view(a.v()).view(a.kCache(), width).view(a.vCache(), width).ptr(a.slotMapping())
                .i32(tokens).i32(width).i64(capacity).ptr(gpu.errorWord())
                .i32(DeviceErrors.code(OpKind.KV_CACHE_WRITE, WRITE_DETAIL)).launch();
    }

    private void attend(PagedAttention a) {
        int tokens = a.q().dim(0);
        if (tokens == 0) {
            return;
        }
        String kernel = switch (a.kCache().dtype()) {
            case F32 -> "attn_paged_f32";
            case F16 -> "attn_paged_f16";
            case BF16 -> "attn_paged_bf16";
            default -> throw new IllegalArgumentException("paged_attention: cache " + a.kCache().describe());
        };
        gpu.kernel(kernel).grid((long) tokens * a.numHeads()).block(128)
                .view(a.q()).view(a.kCache()).view(a.vCache()).view(a.out())
                .ptr(a.queryStartLoc()).ptr(a.seqLens()).ptr(a.blockTables()).i64(a.blockTables().layout().rowStride())
                .i32(a.numSeqs()).i32(tokens).i32(a.numHeads()).i32(a.numKvHeads()).i32(a.headSize()).f32(a.scale())
                .i32(a.slidingWindow()).f32(a.softCap()).i32(a.blockSize()).i32(a.blockTables().cols())
                .i32(a.kCache().dim(0)).ptr(gpu.errorWord()).i32(DeviceErrors.code(OpKind.PAGED_ATTENTION, 0)).launch();
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        if (op == OpKind.KV_CACHE_WRITE) {
            return "kv_cache_write: slotMapping[" + a + "] = " + b + " is outside the cache (valid: -1 to skip, or 0.."
                    + ((long) c - 1) + " = block * blockSize + offset)";
        }
        return switch (detail) {
            case 1 -> "paged_attention: queryStartLoc must be non-decreasing within [0, T=" + c + "], got queryStartLoc["
                    + a + "] = " + b;
            case 2 -> "paged_attention: seqLens[" + a + "] = " + b + " is negative";
            case 3 -> "paged_attention: sequence " + a + " has " + b + " tokens, more than blockTables' " + c
                    + " columns of blocks hold; widen blockTables";
            case 4 -> "paged_attention: blockTables[" + a + ", " + b + "] = " + c + " is outside the cache's blocks";
            default -> KernelFamily.super.describeError(op, detail, a, b, c);
        };
    }
}
