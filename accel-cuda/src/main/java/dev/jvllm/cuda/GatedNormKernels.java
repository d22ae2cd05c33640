package dev.jvllm.cuda;

import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/**
 * Mamba-2's grouped gated RMSNorm, {@link GatedRmsNorm} ({@code gated_norm.cu}): x, z, weight and out
 * F32/F16/BF16 in any mix, strided views (z is often a column slice of a fused projection), out may
 * be x. Groups up to {@value #WARP_GROUP_MAX} channels take one warp each (many small groups stay
 * parallel); larger groups one block each, sized so a thread holds at most 16 values (groups up to
 * 8192 channels keep every value in registers between the two passes; wider ones re-read the rest).
 */
final class GatedNormKernels implements KernelFamily {
    /** Values a lane / thread keeps in registers between the passes (gated_norm.cu WARP_CACHED, BLOCK_CACHED). */
    private static final int WARP_CACHED = 8, BLOCK_CACHED = 16;
    static final int WARP_GROUP_MAX = 32 * WARP_CACHED;
    private static final int MAX_BLOCK = 512;
    private static final int WARPS_PER_BLOCK = 8;

    private final Gpu gpu;

    GatedNormKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.GATED_RMS_NORM);
    }

    @Override
    public boolean supports(OpArgs args) {
        return args instanceof GatedRmsNorm a && ActivationDtypes.supported(a.x(), a.z(), a.weight(), a.out());
    }

    @Override
    public void run(OpArgs args) {
        if (!(args instanceof GatedRmsNorm a)) {
            throw new IllegalArgumentException("gated_norm: " + args.kind().id());
        }
        int rows = a.x().dim(0), gs = a.groupSize(), groups = a.x().cols() / gs;
        if (rows == 0 || groups == 0) {
            return;
        }
        long units = (long) rows * groups;
        int normFirst = a.normBeforeGate() ? 1 : 0;
        int dtype = ActivationDtypes.common(a.x(), a.z(), a.weight());
        if (gs <= WARP_GROUP_MAX) {
            gpu.kernel("gnorm_rms_warp").grid((units + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK)
                    .block(32 * WARPS_PER_BLOCK)
                    .view(a.x()).view(a.z()).view(a.weight()).view(a.out()).i64(units).i32(groups).i32(gs)
                    .f32(a.eps()).i32(normFirst).i32(dtype).launch();
        } else {
            int threads = Math.min(MAX_BLOCK, (gs + 32 * BLOCK_CACHED - 1) / (32 * BLOCK_CACHED) * 32);
            gpu.kernel("gnorm_rms_block").grid(units).block(threads)
                    .view(a.x()).view(a.z()).view(a.weight()).view(a.out()).i32(groups).i32(gs).f32(a.eps())
                    .i32(normFirst).i32(dtype).launch();
        }
    }
}
