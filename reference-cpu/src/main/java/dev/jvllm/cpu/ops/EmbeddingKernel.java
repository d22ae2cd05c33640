package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Embedding;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;

/**
 * CPU reference for {@link Embedding}: {@code out[t] = table[ids[t] - vocabStart]} when the id is in
 * this shard's {@code [vocabStart, vocabStart + V_shard)}, else a row of +0 (another rank owns it).
 * table and out are F32/F16/BF16, in any mix; a row is converted as {@link CastKernel} does (same
 * dtype: copied byte for byte).
 *
 * <p>Scalar form: row by row, byte copies for equal dtypes, else through {@link Rows}. SIMD form: rows spread over the pool; same-dtype
 * rows are {@code MemorySegment.copy}'d, others converted with {@link VectorMath#load} /
 * {@link VectorMath#store}, zero rows written with {@code fill}. Both forms give the same bits.
 */
public final class EmbeddingKernel {
    private EmbeddingKernel() {
    }

    public static boolean supports(Embedding a) {
        return VectorMath.isActivationType(a.table().dtype()) && VectorMath.isActivationType(a.out().dtype());
    }

    public static void run(Embedding a, CpuContext ctx) {
        Tensor table = a.table();
        Tensor out = a.out();
        int tokens = a.ids().dim(0);
        int vocab = table.dim(0);
        int hidden = table.cols();
        int[] ids = Rows.ints(a.ids());
        if (tokens == 0 || hidden == 0) {
            return;
        }
        if (ctx.scalar()) {
            float[] row = new float[hidden];
            for (int t = 0; t < tokens; t++) {
                long local = (long) ids[t] - a.vocabStart();
                if (local >= 0 && local < vocab && table.dtype() == out.dtype()) {
                    MemorySegment.copy(CpuTensor.of(table).storage(), table.layout().rowByteOffset(local),
                            CpuTensor.of(out).storage(), out.layout().rowByteOffset(t),
                            (long) hidden * out.dtype().byteSize());
                    continue;
                } else if (local >= 0 && local < vocab) {
                    Rows.load(table, local, row, 0);
                } else {
                    java.util.Arrays.fill(row, 0f);
                }
                Rows.store(out, t, row, 0);
            }
            return;
        }
        MemorySegment ts = CpuTensor.of(table).storage();
        MemorySegment os = CpuTensor.of(out).storage();
        DType tt = table.dtype();
        DType ot = out.dtype();
        long outRowBytes = (long) hidden * ot.byteSize();
        ctx.pool().forRange(tokens, Tiles.rowGrain(hidden), (t0, t1) -> {
            float[] buf = tt == ot ? null : new float[hidden];
            for (int t = t0; t < t1; t++) {
                long local = (long) ids[t] - a.vocabStart();
                long dstOff = out.layout().rowByteOffset(t);
                if (local < 0 || local >= vocab) {
                    os.asSlice(dstOff, outRowBytes).fill((byte) 0);
                } else if (buf == null) {
                    MemorySegment.copy(ts, table.layout().rowByteOffset(local), os, dstOff, outRowBytes);
                } else {
                    VectorMath.load(ts, table.layout().rowByteOffset(local), tt, buf, 0, hidden);
                    VectorMath.store(buf, 0, hidden, ot, os, dstOff);
                }
            }
        });
    }
}
