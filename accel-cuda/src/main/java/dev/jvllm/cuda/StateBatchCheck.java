package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.StateBatch;

/**
 * The check every stateful op of {@link ConvKernels} and {@link MambaKernels} launches before its
 * kernels (common.cuh {@code state_batch_check}, wrapped by each family's {@code <family>_check_batch}
 * kernel): a {@link StateBatch} with a token range outside the batch, a slot outside the pool or a
 * slot used twice makes the op touch nothing, as the CPU reference, and the error surfaces at the next
 * synchronize. Decode batches (one token per row, {@code stateIndices} only) pass no
 * queryStartLoc.
 */
final class StateBatchCheck {
    private static final int THREADS = 1024;
    private static final int RANGE = 1, SLOT = 2, SHARED_SLOT = 3;

    private StateBatchCheck() {
    }

    /**
     * Enqueues the check; returns a one-int device tensor that holds 1 when the batch is valid, for
     * the op's kernels ({@code const int* ok}). Close it after they are enqueued.
     *
     * @param check         {@code gpu.kernel("<family>_check_batch")}
     * @param queryStartLoc I32 [B+1], or null for a decode batch
     * @param stateIndices  I32 [B], −1 = padding
     * @param tokens        token rows of the batch
     * @param slots         state slots of the pool
     */
    static CudaTensor launch(Gpu gpu, Launch check, OpKind op, Tensor queryStartLoc, Tensor stateIndices, int tokens,
            int slots) {
        CudaTensor ok = gpu.temp(DType.I32, 1);
        check.grid(1).block(THREADS).ptr(address(gpu, queryStartLoc)).ptr(stateIndices).i32(stateIndices.dim(0))
                .i32(tokens).i32(slots).ptr(ok).ptr(gpu.errorWord()).i32(DeviceErrors.code(op, 0)).launch();
        return ok;
    }

    /** A tensor's device address, or 0 (a null pointer) for null. */
    static long address(Gpu gpu, Tensor t) {
        return t == null ? 0L : gpu.tensor(t).address();
    }

    /** The message for a failed check, or null when {@code detail} is not one of the check's. */
    static String describe(OpKind op, int detail, int a, int b, int c) {
        return switch (detail) {
            case RANGE -> op.id() + ": queryStartLoc[" + a + "]=" + b + ", queryStartLoc[" + (a + 1) + "]=" + c
                    + " is not a token range inside [0, T] (T = the batch's token rows); offsets must be"
                    + " non-decreasing";
            case SLOT -> op.id() + ": stateIndices[" + a + "]=" + b + " is outside the state pool [0, " + c
                    + "); use -1 to mark a padded sequence";
            case SHARED_SLOT -> op.id() + ": state slot " + a + " is used by sequences " + b + " and " + c
                    + "; each sequence of a batch needs its own slot";
            default -> null;
        };
    }
}
