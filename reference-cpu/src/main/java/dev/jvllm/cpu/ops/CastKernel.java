package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;

/**
 * CPU reference for {@link Cast}: src F32/F16/BF16 to dst F32/F16/BF16/F8_E4M3. Widening is exact;
 * narrowing rounds to nearest even through {@link dev.jvllm.api.Numerics} rules (F16 overflows to
 * ±Inf, F8_E4M3 saturates at ±448, NaN stays NaN). A cast to the same dtype is a {@link CopyKernel
 * copy}, so even NaN payloads keep their bits.
 *
 * <p>Scalar form: each row through {@link Rows#load} / {@link Rows#store}. SIMD form: tiles of
 * {@link Tiles#TILE_COLS} spread over the pool, converted with {@link VectorMath#load} /
 * {@link VectorMath#store} (bf16 by Vector API bit operations; f16 by the JDK's intrinsified
 * {@code Float.float16ToFloat}/{@code floatToFloat16}; f8 element by element). The conversions are
 * exact or correctly rounded in both forms, so they agree bit for bit.
 */
public final class CastKernel {
    private CastKernel() {
    }

    public static boolean supports(Cast a) {
        return VectorMath.isActivationType(a.src().dtype())
                && (VectorMath.isActivationType(a.dst().dtype()) || a.dst().dtype() == DType.F8_E4M3);
    }

    public static void run(Cast a, CpuContext ctx) {
        if (!supports(a)) {
            throw new IllegalArgumentException("cast: cannot cast " + a.src().describe() + " to " + a.dst().describe()
                    + "; the cpu backend casts F32/F16/BF16 to F32/F16/BF16/F8_E4M3");
        }
        Tensor src = a.src();
        Tensor dst = a.dst();
        if (src.dtype() == dst.dtype()) {
            CopyKernel.copy(src, dst, ctx);
            return;
        }
        if (ctx.scalar()) {
            float[] row = new float[src.cols()];
            for (long r = 0; r < src.rows(); r++) {
                Rows.load(src, r, row, 0);
                Rows.store(dst, r, row, 0);
            }
            return;
        }
        MemorySegment ss = CpuTensor.of(src).storage();
        MemorySegment ds = CpuTensor.of(dst).storage();
        DType st = src.dtype();
        DType dt = dst.dtype();
        long ses = st.byteSize();
        long des = dt.byteSize();
        Tiles.run(ctx.pool(), src.rows(), src.cols(), 1, (r, c0, c1, buf, unused, unused2) -> {
            VectorMath.load(ss, src.layout().rowByteOffset(r) + c0 * ses, st, buf, 0, c1 - c0);
            VectorMath.store(buf, 0, c1 - c0, dt, ds, dst.layout().rowByteOffset(r) + c0 * des);
        });
    }
}
