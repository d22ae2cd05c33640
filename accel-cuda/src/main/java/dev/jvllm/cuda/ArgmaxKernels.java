package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/** Argmax over each row of logits ({@code argmax.cu}): ties to the lowest index, NaN above every number. */
final class ArgmaxKernels implements KernelFamily {
    private final Gpu gpu;

    ArgmaxKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.ARGMAX);
    }

    @Override
    public boolean supports(OpArgs args) {
        return args instanceof Argmax a && ElementwiseKernels.floats(a.logits())
                && (a.logits().cols() > 0 || a.logits().dim(0) == 0);
    }

    @Override
    public void run(OpArgs args) {
        Argmax a = (Argmax) args;
        int rows = a.logits().dim(0), vocab = a.logits().cols();
        if (rows == 0) {
            return;
        }
        if (rows <= SPLIT_MAX_ROWS && vocab >= 2 * SPLIT_SLICE && SPLIT) {
            // a decode step's few rows: each over several blocks, whose parts the last block reduces
            int splits = (vocab + SPLIT_SLICE - 1) / SPLIT_SLICE;
            try (CudaTensor v = gpu.temp(DType.F32, rows * splits); CudaTensor i = gpu.temp(DType.I32, rows * splits)) {
                gpu.kernel("argmax_split").dependent().grid(splits, rows, 1).block(256).view(a.logits()).ptr(a.out())
                        .i32(vocab).i32(SPLIT_SLICE).ptr(v).ptr(i).ptr(gpu.ticket()).launch();
            }
            return;
        }
        int threads = vocab >= 8192 ? 1024 : vocab >= 1024 ? 256 : 32;
        gpu.kernel("argmax_rows").dependent().grid(rows).block(threads).view(a.logits()).ptr(a.out()).i32(vocab).launch();
    }

    /**
     * Up to this many rows a row is split over blocks of {@link #SPLIT_SLICE} entries (argmax.cu
     * argmax_split): a batch-1 decode step's 32000-entry row took ~2.5 µs less of the step's GPU time
     * than with one block per row, and 6.0 against 8.9 µs per call back to back (H200).
     */
    static final int SPLIT_MAX_ROWS = 8;
    /** Entries per block of a split row (a multiple of 4: whole 16-byte words). */
    static final int SPLIT_SLICE = 2048;
    /** {@code -Djvllm.cuda.argmax=rows}: one block per row at every batch (measurements). */
    private static final boolean SPLIT = !"rows".equals(System.getProperty("jvllm.cuda.argmax"));
}
