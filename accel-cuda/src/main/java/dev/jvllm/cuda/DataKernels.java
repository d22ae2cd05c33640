package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.api.ops.Fill;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/**
 * Data movement ({@code data.cu}): copy (a DtoD or 2D memcpy, no kernel), cast, fill and gather_rows.
 * Copies and gathers between overlapping views go through a scratch copy of the source, so the
 * result is always {@code dst = old src} as in the CPU reference.
 */
final class DataKernels implements KernelFamily {
    private final Gpu gpu;

    DataKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.COPY, OpKind.CAST, OpKind.FILL, OpKind.GATHER_ROWS);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case Copy a -> true;
            case Cast a -> a.src().dtype().isFloat() && (a.dst().dtype().isFloat() || a.dst().dtype() == DType.F8_E4M3);
            case Fill a -> true;
            case GatherRows a -> true;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case Copy a -> copy(gpu.tensor(a.src()), gpu.tensor(a.dst()));
            case Cast a -> cast(a);
            case Fill a -> fill(a);
            case GatherRows a -> gather(a);
            default -> throw new IllegalArgumentException("data: " + args.kind().id());
        }
    }

    private void copy(CudaTensor src, CudaTensor dst) {
        if (src.sameView(dst)) {
            return;
        }
        if (src.overlaps(dst)) {
            try (CudaTensor tmp = gpu.temp(src.dtype(), src.shape())) {
                gpu.copy(src, tmp);
                gpu.copy(tmp, dst);
            }
            return;
        }
        gpu.copy(src, dst);
    }

    private void cast(Cast a) {
        if (a.src().dtype() == a.dst().dtype()) {
            copy(gpu.tensor(a.src()), gpu.tensor(a.dst()));
            return;
        }
        long n = a.src().numel();
        if (n == 0) {
            return;
        }
        // different dtypes never share bytes in a meaningful way, but an overlapping view would race
        CudaTensor src = gpu.tensor(a.src());
        if (src.overlaps(gpu.tensor(a.dst()))) {
            try (CudaTensor tmp = gpu.temp(src.dtype(), src.shape())) {
                gpu.copy(src, tmp);
                launchCast(tmp, a);
            }
            return;
        }
        launchCast(src, a);
    }

    private void launchCast(CudaTensor src, Cast a) {
        gpu.kernel("data_cast").rowsCols(a.src().rows(), a.src().cols())
                .view(src).view(a.dst()).i64(a.src().rows()).i32(a.src().cols()).launch();
    }

    private void fill(Fill a) {
        if (a.dst().numel() == 0) {
            return;
        }
        gpu.kernel("data_fill").rowsCols(a.dst().rows(), a.dst().cols())
                .view(a.dst()).i64(a.dst().rows()).i32(a.dst().cols()).i64(bits(a.dst().dtype(), a.value())).launch();
    }

    /**
     * The little-endian bits of one element of {@code dt} holding {@code value}: floats rounded through
     * f32 as {@link Cast} rounds, integers truncated toward zero as Java's casts (the CPU reference's rule).
     */
    static long bits(DType dt, double value) {
        float f = (float) value;
        return switch (dt) {
            case F32 -> Float.floatToRawIntBits(f) & 0xFFFFFFFFL;
            case BF16 -> Numerics.f32ToBf16(f) & 0xFFFFL;
            case F16 -> Numerics.f32ToF16(f) & 0xFFFFL;
            case F8_E4M3 -> Numerics.f32ToE4M3(f) & 0xFFL;
            case I8, U8 -> (byte) (int) value & 0xFFL;
            case I32 -> (int) value & 0xFFFFFFFFL;
            case I64 -> (long) value;
        };
    }

    private void gather(GatherRows a) {
        int n = a.dst().dim(0), cols = a.src().cols();
        if (n == 0 || cols == 0) {
            return;
        }
        CudaTensor src = gpu.tensor(a.src());
        if (src.overlaps(gpu.tensor(a.dst()))) {
            try (CudaTensor tmp = gpu.temp(src.dtype(), src.shape())) {
                gpu.copy(src, tmp);
                launchGather(tmp, a, n, cols);
            }
            return;
        }
        launchGather(src, a, n, cols);
    }

    private void launchGather(CudaTensor src, GatherRows a, int n, int cols) {
        gpu.kernel("data_gather_rows").rowsCols(n, cols)
                .view(src).ptr(a.indices()).view(a.dst()).i32(n).i32(cols).i32(a.src().dim(0))
                .ptr(gpu.errorWord()).i32(DeviceErrors.code(OpKind.GATHER_ROWS, 1)).launch();
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return "gather_rows: indices[" + a + "] = " + b + " is outside [0, " + c + ") of src; pass row numbers of src";
    }
}
