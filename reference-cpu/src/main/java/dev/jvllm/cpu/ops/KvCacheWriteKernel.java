package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * CPU reference for {@link KvCacheWrite}: {@code kCache[s / B, s % B] = k[t]} (and v) for every
 * token t with {@code s = slotMapping[t] != -1}.
 *
 * <p>Scalar form: element by element; raw bits when the dtypes agree, else {@link Numerics}
 * conversion. SIMD form: {@link AttentionConvert} runs over each token's {@code Hk·D} values
 * (a bit copy when the dtypes agree, vector f32→bf16 rounding otherwise), one task per cache
 * (k, v). In both forms tokens are written in order, so when two tokens share a slot the later
 * one wins whatever the thread count. Slots are validated before anything is written: a bad
 * slot leaves the cache untouched.
 */
public final class KvCacheWriteKernel {
    private KvCacheWriteKernel() {
    }

    public static boolean supports(KvCacheWrite a) {
        return Rows.isFloat(a.k()) && Rows.isFloat(a.v()) && Rows.isFloat(a.kCache()) && Rows.isFloat(a.vCache());
    }

    public static void run(KvCacheWrite a, CpuContext ctx) {
        int[] slots = validSlots(a);
        if (ctx.scalar()) {
            for (int t = 0; t < slots.length; t++) {
                if (slots[t] != -1) {
                    writeScalar(a.k(), t, a.kCache(), slots[t]);
                    writeScalar(a.v(), t, a.vCache(), slots[t]);
                }
            }
            return;
        }
        // two independent tasks (k cache, v cache); within each, tokens in order
        long work = (long) slots.length * a.kCache().dim(2) * a.kCache().dim(3);
        if (work < 32_768) {
            writeSimd(a.k(), a.kCache(), slots);
            writeSimd(a.v(), a.vCache(), slots);
        } else {
            ctx.pool().forEach(2, i -> {
                if (i == 0) {
                    writeSimd(a.k(), a.kCache(), slots);
                } else {
                    writeSimd(a.v(), a.vCache(), slots);
                }
            });
        }
    }

    /** The slot mapping, checked: every entry −1 or a slot of the cache. */
    private static int[] validSlots(KvCacheWrite a) {
        int[] slots = Rows.ints(a.slotMapping());
        long capacity = (long) a.kCache().dim(0) * a.kCache().dim(1);
        for (int t = 0; t < slots.length; t++) {
            if (slots[t] < -1 || slots[t] >= capacity) {
                throw new IllegalArgumentException("kv_cache_write: slotMapping[" + t + "] = " + slots[t]
                        + " is outside the cache " + a.kCache().describe() + " (valid: -1 to skip, or 0.."
                        + (capacity - 1) + " = block * blockSize + offset)");
            }
        }
        return slots;
    }

    /** Scalar form: src[t, :] → cache slot s, one element at a time. */
    private static void writeScalar(Tensor src, int t, Tensor cache, int slot) {
        CpuTensor s = CpuTensor.of(src);
        CpuTensor c = CpuTensor.of(cache);
        int width = src.cols(); // Hk·D
        long srcBase = s.layout().rowByteOffset(t);
        long dstBase = c.layout().byteOffset() + (long) slot * width * cache.dtype().byteSize();
        MemorySegment from = s.storage();
        MemorySegment to = c.storage();
        DType st = src.dtype(), dt = cache.dtype();
        for (int j = 0; j < width; j++) {
            long si = srcBase + (long) j * st.byteSize();
            long di = dstBase + (long) j * dt.byteSize();
            if (st == dt) {
                if (st == DType.F32) {
                    to.set(ValueLayout.JAVA_INT_UNALIGNED, di, from.get(ValueLayout.JAVA_INT_UNALIGNED, si));
                } else {
                    to.set(ValueLayout.JAVA_SHORT_UNALIGNED, di, from.get(ValueLayout.JAVA_SHORT_UNALIGNED, si));
                }
                continue;
            }
            float f = switch (st) {
                case F32 -> from.get(ValueLayout.JAVA_FLOAT_UNALIGNED, si);
                case BF16 -> Numerics.bf16ToF32(from.get(ValueLayout.JAVA_SHORT_UNALIGNED, si));
                case F16 -> Numerics.f16ToF32(from.get(ValueLayout.JAVA_SHORT_UNALIGNED, si));
                default -> throw new IllegalArgumentException("kv_cache_write: unsupported " + src.describe());
            };
            switch (dt) {
                case F32 -> to.set(ValueLayout.JAVA_FLOAT_UNALIGNED, di, f);
                case BF16 -> to.set(ValueLayout.JAVA_SHORT_UNALIGNED, di, Numerics.f32ToBf16(f));
                case F16 -> to.set(ValueLayout.JAVA_SHORT_UNALIGNED, di, Numerics.f32ToF16(f));
                default -> throw new IllegalArgumentException("kv_cache_write: unsupported " + cache.describe());
            }
        }
    }

    /** SIMD form: every token's row (Hk·D contiguous values) converted in one run, tokens in order. */
    private static void writeSimd(Tensor src, Tensor cache, int[] slots) {
        CpuTensor s = CpuTensor.of(src);
        CpuTensor c = CpuTensor.of(cache);
        int width = src.cols();
        long slotBytes = (long) width * cache.dtype().byteSize();
        for (int t = 0; t < slots.length; t++) {
            if (slots[t] != -1) {
                AttentionConvert.convert(s.storage(), s.layout().rowByteOffset(t), src.dtype(), c.storage(),
                        c.layout().byteOffset() + slots[t] * slotBytes, cache.dtype(), width);
            }
        }
    }
}
