package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared by the state-space kernels (conv, selective scan, SSD, short conv, linear attention):
 * column-range loads and stores with dtype conversion, and the scalar activations their
 * contracts name (SiLU, softplus) in one place so every form uses the same definition.
 */
final class ScanIo {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private ScanIo() {
    }

    /** dst[off + j] = f32(t[row, col0 + j]) for j &lt; n; t is F32, BF16 or F16. */
    static void load(Tensor t, long row, int col0, int n, float[] dst, int off) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment s = c.storage();
        DType dt = t.dtype();
        long base = c.layout().rowByteOffset(row) + (long) col0 * dt.byteSize();
        switch (dt) {
            case F32 -> MemorySegment.copy(s, F32, base, dst, off, n);
            case BF16 -> {
                for (int j = 0; j < n; j++) {
                    dst[off + j] = Numerics.bf16ToF32(s.get(I16, base + 2L * j));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    dst[off + j] = Numerics.f16ToF32(s.get(I16, base + 2L * j));
                }
            }
            default -> throw new IllegalArgumentException("expected an F32, BF16 or F16 tensor, got " + t.describe());
        }
    }

    /** t[row, col0 + j] = round(src[off + j]) for j &lt; n (round to nearest even for BF16/F16). */
    static void store(Tensor t, long row, int col0, int n, float[] src, int off) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment s = c.storage();
        DType dt = t.dtype();
        long base = c.layout().rowByteOffset(row) + (long) col0 * dt.byteSize();
        switch (dt) {
            case F32 -> MemorySegment.copy(src, off, s, F32, base, n);
            case BF16 -> {
                for (int j = 0; j < n; j++) {
                    s.set(I16, base + 2L * j, Numerics.f32ToBf16(src[off + j]));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    s.set(I16, base + 2L * j, Numerics.f32ToF16(src[off + j]));
                }
            }
            default -> throw new IllegalArgumentException("expected an F32, BF16 or F16 tensor, got " + t.describe());
        }
    }

    /** A whole small F32 parameter tensor (A, D, biases, slopes) as an array; null stays null. */
    static float[] floats(Tensor t) {
        if (t == null) {
            return null;
        }
        int cols = t.cols();
        int rows = Math.toIntExact(t.rows());
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            load(t, r, 0, cols, out, r * cols);
        }
        return out;
    }

    /** Whether every non-null tensor is F32, BF16 or F16 (the activation dtypes the kernels convert). */
    static boolean allFloat(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
                return false;
            }
        }
        return true;
    }

    /** f32 through {@code dtype} and back: the rounding of an intermediate the contract stores in that dtype. */
    static float round(DType dtype, float f) {
        return Numerics.roundTo(dtype, f);
    }

    /** silu(x) = x / (1 + e^−x) in f32 (e^−x evaluated in double, rounded to f32). */
    static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }

    /**
     * The lanes of v summed left to right: not {@code reduceLanes(ADD)}, whose order is unspecified
     * and differs between the Vector API's Java fallback and C2's intrinsic (the result would depend
     * on whether the caller had been compiled yet).
     */
    static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int l = 0; l < LANES; l++) {
            s += v.lane(l);
        }
        return s;
    }

    /** softplus(x) = log(1 + e^x), with PyTorch's threshold: x itself above 20. */
    static float softplus(float x) {
        return x > 20f ? x : (float) Math.log1p(Math.exp(x));
    }

    /** Largest multiple of the vector length that is ≤ n. */
    static int vectorBound(int n) {
        return SPECIES.loopBound(n);
    }
}
