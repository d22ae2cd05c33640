package dev.jvllm.cuda;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Rotary;
import java.util.Set;

/**
 * Rotary embedding in place on q and k ({@code rotary.cu}), Neox or GPT-J pairing, partial rotary,
 * q and k F32/F16/BF16 (each its own dtype), typically strided views of a fused qkv projection.
 */
final class RotaryKernels implements KernelFamily {
    private final Gpu gpu;

    RotaryKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.ROTARY);
    }

    @Override
    public boolean supports(OpArgs args) {
        return args instanceof Rotary a && ElementwiseKernels.floats(a.q(), a.k());
    }

    @Override
    public void run(OpArgs args) {
        Rotary a = (Rotary) args;
        Tensor q = a.q(), k = a.k();
        int tokens = q.dim(0), qHeads = q.cols() / a.headSize(), kHeads = k == null ? 0 : k.cols() / a.headSize();
        long blocks = (long) tokens * (qHeads + kHeads);
        if (blocks == 0) {
            return;
        }
        int threads = Math.min(256, Math.max(32, (a.rotaryDim() / 2 + 31) / 32 * 32));
        // q and k in one launch: a decode's two rotations are each too small to cover a launch's cost
        gpu.kernel("rot_apply").dependent().grid(blocks).block(threads)
                .ptr(a.positions()).view(q).view(k).view(a.cosSin()).i32(tokens).i32(qHeads).i32(kHeads).i32(a.headSize())
                .i32(a.rotaryDim()).i32(a.neox() ? 1 : 0).i32(a.cosSin().dim(0)).ptr(gpu.errorWord())
                .i32(DeviceErrors.code(OpKind.ROTARY, 1)).launch();
    }

    /**
     * Whether {@link #runWithCacheWrite} can run {@code r} and then {@code w} as one launch: w writes
     * r's k (the same view) and a v that shares no element with r's q and k, and neither op's output
     * is another's input beyond that (the caches are their own allocations).
     */
    boolean canFuse(Rotary r, KvCacheWrite w) {
        if (r.k() == null || !supports(r) || !ElementwiseKernels.floats(w.k(), w.v(), w.kCache(), w.vCache())
                || r.q().dim(0) == 0) {
            return false;
        }
        CudaTensor k = gpu.tensor(r.k()), q = gpu.tensor(r.q()), v = gpu.tensor(w.v());
        if (!k.sameView(gpu.tensor(w.k())) || !v.disjoint(q) || !v.disjoint(k)) {
            return false;
        }
        for (Tensor cache : new Tensor[] {w.kCache(), w.vCache()}) {
            CudaTensor c = gpu.tensor(cache);
            for (Tensor t : new Tensor[] {r.positions(), r.q(), r.k(), r.cosSin(), w.v(), w.slotMapping()}) {
                if (c.overlaps(gpu.tensor(t))) {
                    return false;
                }
            }
        }
        return !gpu.tensor(w.kCache()).overlaps(gpu.tensor(w.vCache()));
    }

    /**
     * The rotation and the cache write of its k and of v as one launch ({@code rot_apply_kv}): the
     * results and reported errors of {@link #run}(r) then attn_kv_write(w). A decode step pays one
     * launch for the two.
     */
    void runWithCacheWrite(Rotary r, KvCacheWrite w) {
        Tensor q = r.q(), k = r.k();
        int tokens = q.dim(0), qHeads = q.cols() / r.headSize(), kHeads = k.cols() / r.headSize();
        int width = k.cols();
        long capacity = (long) w.kCache().dim(0) * w.kCache().dim(1);
        int threads = Math.min(256, Math.max(32, (r.rotaryDim() / 2 + 31) / 32 * 32));
        gpu.kernel("rot_apply_kv").dependent().grid((long) tokens * (qHeads + 2L * kHeads)).block(threads)
                .ptr(r.positions()).view(q).view(k).view(r.cosSin()).i32(tokens).i32(qHeads).i32(kHeads)
                .i32(r.headSize()).i32(r.rotaryDim()).i32(r.neox() ? 1 : 0).i32(r.cosSin().dim(0)).ptr(gpu.errorWord())
                .i32(DeviceErrors.code(OpKind.ROTARY, 1)).view(w.v()).view(w.kCache(), width).view(w.vCache(), width)
                .ptr(w.slotMapping()).i64(capacity).i32(DeviceErrors.code(OpKind.KV_CACHE_WRITE, AttentionKernels.WRITE_DETAIL))
                .launch();
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return "rotary: positions[" + a + "] = " + b + " is outside cosSin's " + c + " rows; build cosSin with at least "
                + ((long) b + 1) + " positions (max_position_embeddings)";
    }
}
