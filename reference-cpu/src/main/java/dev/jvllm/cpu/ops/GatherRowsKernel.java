package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;

/**
 * CPU reference for {@link GatherRows}: {@code dst[i, :] = src[indices[i], :]}, byte for byte, any
 * dtype; indices may repeat and come in any order. An index outside {@code [0, rows(src))} is an
 * error naming it.
 *
 * <p>Scalar form: one row copy after another. SIMD form: the same row copies
 * ({@code MemorySegment.copy} is already a vectorized memmove) spread over the pool for large
 * gathers. When dst overlaps src the gather goes through a copy of src.
 */
public final class GatherRowsKernel {
    private GatherRowsKernel() {
    }

    /** Any dtype: rows are copied as bytes. */
    public static boolean supports(GatherRows a) {
        return true;
    }

    public static void run(GatherRows a, CpuContext ctx) {
        Tensor src = a.src();
        Tensor dst = a.dst();
        int n = dst.dim(0);
        int[] idx = new int[n];
        int rows = src.dim(0);
        for (int i = 0; i < n; i++) {
            idx[i] = Rows.getInt(a.indices(), i);
            if (idx[i] < 0 || idx[i] >= rows) {
                throw new IllegalArgumentException("gather_rows: indices[" + i + "] = " + idx[i] + " is outside [0, "
                        + rows + ") of src " + src.describe() + "; pass row numbers of src");
            }
        }
        if (n == 0 || src.cols() == 0) {
            return;
        }
        CpuTensor s = CpuTensor.of(src);
        CpuTensor d = CpuTensor.of(dst);
        if (CopyKernel.overlap(s, d)) {
            Tensor copy = src.backend().allocate(src.dtype(), src.shape());
            try (copy) {
                CopyKernel.copy(src, copy, ctx);
                gather(CpuTensor.of(copy), d, idx, ctx);
            }
            return;
        }
        gather(s, d, idx, ctx);
    }

    private static void gather(CpuTensor s, CpuTensor d, int[] idx, CpuContext ctx) {
        long rowBytes = (long) s.cols() * s.dtype().byteSize();
        MemorySegment ss = s.storage();
        MemorySegment ds = d.storage();
        if (ctx.scalar()) {
            for (int i = 0; i < idx.length; i++) {
                MemorySegment.copy(ss, s.layout().rowByteOffset(idx[i]), ds, d.layout().rowByteOffset(i), rowBytes);
            }
            return;
        }
        int grain = (int) Math.max(1, (1 << 18) / Math.max(1, rowBytes));
        ctx.pool().forRange(idx.length, grain, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                MemorySegment.copy(ss, s.layout().rowByteOffset(idx[i]), ds, d.layout().rowByteOffset(i), rowBytes);
            }
        });
    }
}
