package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * CPU reference for {@link Copy}: {@code dst = src} byte for byte, any dtype, either side a
 * strided view.
 *
 * <p>Scalar form: one {@code MemorySegment.copy} per row, in order. SIMD form: the same bytes, but
 * one bulk copy (cut in 1 MiB pieces over the pool) when both sides are contiguous, and rows spread
 * over the pool otherwise; {@code MemorySegment.copy} is the JDK's vectorized memmove, so there is
 * no hand-written Vector API loop. When src and dst overlap in memory (other than being the same
 * view, which is a no-op) the source is first staged in a temporary buffer, so the result is always
 * {@code dst = old src}.
 */
public final class CopyKernel {
    private CopyKernel() {
    }

    private static final long BULK_PIECE = 1 << 20;

    /** Any dtype and shape the record accepts. */
    public static boolean supports(Copy a) {
        return true;
    }

    public static void run(Copy a, CpuContext ctx) {
        copy(a.src(), a.dst(), ctx);
    }

    /** dst = src (same dtype and shape), staging through a buffer when they overlap. */
    static void copy(Tensor src, Tensor dst, CpuContext ctx) {
        if (src.numel() == 0) {
            return;
        }
        CpuTensor s = CpuTensor.of(src);
        CpuTensor d = CpuTensor.of(dst);
        if (overlap(s, d)) {
            if (s.storage().equals(d.storage()) && src.layout().equals(dst.layout())) {
                return; // the same view: nothing to do
            }
            long bytes = src.numel() * src.dtype().byteSize();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment tmp = arena.allocate(bytes, 64);
                src.backend().read(src, tmp);
                dst.backend().write(dst, tmp);
            }
            return;
        }
        if (ctx.scalar()) {
            copyRows(s, d, 0, src.rows());
            return;
        }
        long rowBytes = (long) src.cols() * src.dtype().byteSize();
        if (src.isContiguous() && dst.isContiguous()) {
            long total = src.numel() * src.dtype().byteSize();
            long sb = src.layout().byteOffset();
            long db = dst.layout().byteOffset();
            int pieces = Math.toIntExact((total + BULK_PIECE - 1) / BULK_PIECE);
            ctx.pool().forEach(pieces, i -> {
                long from = i * BULK_PIECE;
                MemorySegment.copy(s.storage(), sb + from, d.storage(), db + from, Math.min(BULK_PIECE, total - from));
            });
            return;
        }
        long rows = src.rows();
        ctx.pool().forRange(Math.toIntExact(rows), (int) Math.max(1, BULK_PIECE / Math.max(1, rowBytes)),
                (r0, r1) -> copyRows(s, d, r0, r1));
    }

    /** Copies rows [r0, r1) of s into the same rows of d. */
    static void copyRows(CpuTensor s, CpuTensor d, long r0, long r1) {
        long rowBytes = (long) s.cols() * s.dtype().byteSize();
        TensorLayout sl = s.layout();
        TensorLayout dl = d.layout();
        for (long r = r0; r < r1; r++) {
            MemorySegment.copy(s.storage(), sl.rowByteOffset(r), d.storage(), dl.rowByteOffset(r), rowBytes);
        }
    }

    /** Whether the byte spans of two tensors share memory (a conservative check on their extents). */
    static boolean overlap(CpuTensor a, CpuTensor b) {
        if (a.numel() == 0 || b.numel() == 0) {
            return false;
        }
        MemorySegment sa = span(a);
        MemorySegment sb = span(b);
        return sa.asOverlappingSlice(sb).isPresent();
    }

    private static MemorySegment span(CpuTensor t) {
        TensorLayout l = t.layout();
        long es = l.dtype().byteSize();
        return t.storage().asSlice(l.byteOffset(), (l.endElement() - l.offset()) * es);
    }
}
