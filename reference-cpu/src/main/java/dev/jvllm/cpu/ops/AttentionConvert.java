package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorized runs of element conversions between F32, BF16 and F16 in native memory, for the
 * attention kernels' SIMD forms (KV cache writes, cache tiles widened to f32).
 *
 * <p>Every conversion gives the same bits as {@link Numerics} (round to nearest even, NaN stays
 * NaN); equal dtypes copy the raw bits. F16 has no vector conversion in the Vector API, so F16
 * runs use the scalar {@link Float#float16ToFloat} / {@link Float#floatToFloat16} (JIT intrinsics).
 */
final class AttentionConvert {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private AttentionConvert() {
    }

    /**
     * Converts n elements: {@code dst[dstOff..] = (dstType) src[srcOff..]} (byte offsets).
     * Equal dtypes copy bits; F32 → BF16/F16 rounds to nearest even; widening is exact.
     */
    static void convert(MemorySegment src, long srcOff, DType srcType, MemorySegment dst, long dstOff,
            DType dstType, int n) {
        if (srcType == dstType) {
            MemorySegment.copy(src, srcOff, dst, dstOff, (long) n * srcType.byteSize());
            return;
        }
        switch (srcType) {
            case F32 -> {
                if (dstType == DType.BF16) {
                    f32ToBf16(src, srcOff, dst, dstOff, n);
                } else {
                    for (int i = 0; i < n; i++) {
                        dst.set(I16, dstOff + 2L * i, Float.floatToFloat16(src.get(F32, srcOff + 4L * i)));
                    }
                }
            }
            case BF16 -> {
                if (dstType == DType.F32) {
                    bf16ToF32(src, srcOff, dst, dstOff, n);
                } else { // → F16: widen exactly, then one rounding
                    for (int i = 0; i < n; i++) {
                        dst.set(I16, dstOff + 2L * i,
                                Float.floatToFloat16(Numerics.bf16ToF32(src.get(I16, srcOff + 2L * i))));
                    }
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    float f = Float.float16ToFloat(src.get(I16, srcOff + 2L * i));
                    if (dstType == DType.F32) {
                        dst.set(F32, dstOff + 4L * i, f);
                    } else {
                        dst.set(I16, dstOff + 2L * i, Numerics.f32ToBf16(f));
                    }
                }
            }
            default -> throw new IllegalArgumentException("no float conversion from " + srcType + " to " + dstType);
        }
    }

    /** n elements of F32/BF16/F16 at {@code src[srcOff..]} widened into f32 at {@code dst[dstOff..]}. */
    static void toF32(MemorySegment src, long srcOff, DType srcType, MemorySegment dst, long dstOff, int n) {
        convert(src, srcOff, srcType, dst, dstOff, DType.F32, n);
    }

    /** bf16 → f32 is exact: the 16 bits become the high half of the f32 word. */
    private static void bf16ToF32(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int i = 0;
        for (; i <= n - 8; i += 8) {
            ShortVector s = ShortVector.fromMemorySegment(S8, src, srcOff + 2L * i, LE);
            IntVector w = (IntVector) s.convertShape(VectorOperators.S2I, I8, 0);
            w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, dstOff + 4L * i, LE);
        }
        for (; i < n; i++) {
            dst.set(F32, dstOff + 4L * i, Numerics.bf16ToF32(src.get(I16, srcOff + 2L * i)));
        }
    }

    /** f32 → bf16 with {@link Numerics#f32ToBf16}'s rounding: RNE on the low 16 bits, NaN → quiet NaN. */
    private static void f32ToBf16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int i = 0;
        for (; i <= n - 8; i += 8) {
            IntVector x = FloatVector.fromMemorySegment(F8, src, srcOff + 4L * i, LE).reinterpretAsInts();
            IntVector hi = x.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = x.add(hi.and(1).add(0x7FFF)).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = x.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            IntVector r = rounded.blend(hi.or(0x0040), nan);
            ((ShortVector) r.convertShape(VectorOperators.I2S, S8, 0)).intoMemorySegment(dst, dstOff + 2L * i, LE);
        }
        for (; i < n; i++) {
            dst.set(I16, dstOff + 2L * i, Numerics.f32ToBf16(src.get(F32, srcOff + 4L * i)));
        }
    }
}
