package dev.jvllm.cpu;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Row access for kernels: load a row of any float dtype into f32, store f32 back with the
 * dtype's rounding, and read integer metadata. A row is one index over all dimensions but the
 * last (see {@link dev.jvllm.api.TensorLayout}).
 */
public final class Rows {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private Rows() {
    }

    /** dst[dstOff + j] = f32(t[row, j]) for j &lt; cols. */
    public static void load(Tensor t, long row, float[] dst, int dstOff) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment s = c.storage();
        long base = c.layout().rowByteOffset(row);
        int n = t.cols();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, base, dst, dstOff, n);
            case BF16 -> {
                for (int j = 0; j < n; j++) {
                    dst[dstOff + j] = Numerics.bf16ToF32(s.get(I16, base + 2L * j));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    dst[dstOff + j] = Numerics.f16ToF32(s.get(I16, base + 2L * j));
                }
            }
            case F8_E4M3 -> {
                for (int j = 0; j < n; j++) {
                    dst[dstOff + j] = Numerics.e4m3ToF32(s.get(ValueLayout.JAVA_BYTE, base + j));
                }
            }
            default -> throw new IllegalArgumentException("not a float tensor: " + t.describe());
        }
    }

    /** t[row, j] = round(src[srcOff + j]) for j &lt; cols. */
    public static void store(Tensor t, long row, float[] src, int srcOff) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment s = c.storage();
        long base = c.layout().rowByteOffset(row);
        int n = t.cols();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(src, srcOff, s, F32, base, n);
            case BF16 -> {
                for (int j = 0; j < n; j++) {
                    s.set(I16, base + 2L * j, Numerics.f32ToBf16(src[srcOff + j]));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    s.set(I16, base + 2L * j, Numerics.f32ToF16(src[srcOff + j]));
                }
            }
            case F8_E4M3 -> {
                for (int j = 0; j < n; j++) {
                    s.set(ValueLayout.JAVA_BYTE, base + j, Numerics.f32ToE4M3(src[srcOff + j]));
                }
            }
            default -> throw new IllegalArgumentException("not a float tensor: " + t.describe());
        }
    }

    /** Element i (row-major over the logical shape) of an I32 tensor. */
    public static int getInt(Tensor t, long i) {
        CpuTensor c = CpuTensor.of(t);
        long cols = t.cols();
        long row = i / cols;
        long col = i % cols;
        return c.storage().get(I32, c.layout().rowByteOffset(row) + 4 * col);
    }

    /** Element i of an I64 tensor. */
    public static long getLong(Tensor t, long i) {
        CpuTensor c = CpuTensor.of(t);
        long cols = t.cols();
        return c.storage().get(I64, c.layout().rowByteOffset(i / cols) + 8 * (i % cols));
    }

    /** Element i of an F32 tensor. */
    public static float getFloat(Tensor t, long i) {
        CpuTensor c = CpuTensor.of(t);
        long cols = t.cols();
        return c.storage().get(F32, c.layout().rowByteOffset(i / cols) + 4 * (i % cols));
    }

    /** Sets element i of an I32 tensor. */
    public static void setInt(Tensor t, long i, int v) {
        CpuTensor c = CpuTensor.of(t);
        long cols = t.cols();
        c.storage().set(I32, c.layout().rowByteOffset(i / cols) + 4 * (i % cols), v);
    }

    /** Sets element i of an F32 tensor. */
    public static void setFloat(Tensor t, long i, float v) {
        CpuTensor c = CpuTensor.of(t);
        long cols = t.cols();
        c.storage().set(F32, c.layout().rowByteOffset(i / cols) + 4 * (i % cols), v);
    }

    /** All elements of an I32 tensor (small metadata tensors). */
    public static int[] ints(Tensor t) {
        int n = Math.toIntExact(t.numel());
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = getInt(t, i);
        }
        return out;
    }

    /** Whether t's dtype is F32, F16 or BF16. */
    public static boolean isFloat(Tensor t) {
        return t == null || t.dtype() == DType.F32 || t.dtype() == DType.F16 || t.dtype() == DType.BF16;
    }
}
