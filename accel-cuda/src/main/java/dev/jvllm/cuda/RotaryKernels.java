package dev.jvllm.cuda;

import dev.jvllm.api.Tensor;
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
        gpu.kernel("rot_apply").grid(blocks).block(threads)
                .ptr(a.positions()).view(q).view(k).view(a.cosSin()).i32(tokens).i32(qHeads).i32(kHeads).i32(a.headSize())
                .i32(a.rotaryDim()).i32(a.neox() ? 1 : 0).i32(a.cosSin().dim(0)).ptr(gpu.errorWord())
                .i32(DeviceErrors.code(OpKind.ROTARY, 1)).launch();
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return "rotary: positions[" + a + "] = " + b + " is outside cosSin's " + c + " rows; build cosSin with at least "
                + ((long) b + 1) + " positions (max_position_embeddings)";
    }
}
