package dev.jvllm.cpu.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link GemmF32}'s micro-kernels with W read straight from its bf16 or f32 storage instead of from
 * an f32 panel: for decode (few x rows), where converting four W rows into a panel and reading them
 * back costs more than the dot products, and the matmul must run at the speed W streams from memory.
 *
 * <p>Same contract, same bits: lane j of accumulator (i, r) sums {@code x[i][k] · W[r][k]} for
 * k ≡ j (mod L), k &lt; kv, with fused multiply-adds in increasing k, then {@link GemmF32#reduce16}
 * folds them. A bf16 weight is widened exactly ({@code bits << 16}), which is what the panel holds,
 * so every result equals the panel kernels' bit for bit. W rows are given as byte offsets into
 * {@code w} (little-endian, K contiguous elements each). The dtype test sits inside the loops on
 * purpose: it is loop-invariant, and C2 unswitches it into one loop per dtype.
 */
final class GemvDirect {
    static final VectorSpecies<Float> F = GemmF32.F;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = LinearDequant.I;
    private static final VectorSpecies<Short> S = LinearDequant.S;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private GemvDirect() {
    }

    /** Whether the bf16 kernels can run: the machine's vectors hold at least four shorts. */
    static boolean bf16Supported() {
        return S != null;
    }

    /** L weights at byte offset {@code off}: bf16 widened to f32, or f32. */
    private static FloatVector load(MemorySegment w, long off, boolean bf16) {
        if (bf16) {
            return ((IntVector) ShortVector.fromMemorySegment(S, w, off, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
        return FloatVector.fromMemorySegment(F, w, off, LE);
    }

    /** res[j] = dot(x row x0, W row j) for W rows at byte offsets w0..w3. */
    static void dot1x4(float[] x, int x0, MemorySegment w, boolean bf16, long w0, long w1, long w2, long w3, int kv,
            float[] buf, float[] res) {
        int shift = bf16 ? 1 : 2; // log2 of the weight's byte size
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < kv; k += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            long b = (long) k << shift;
            a0 = v.fma(load(w, w0 + b, bf16), a0);
            a1 = v.fma(load(w, w1 + b, bf16), a1);
            a2 = v.fma(load(w, w2 + b, bf16), a2);
            a3 = v.fma(load(w, w3 + b, bf16), a3);
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, L);
        a2.intoArray(buf, 2 * L);
        a3.intoArray(buf, 3 * L);
        GemmF32.reduce16(buf, res);
    }

    /** res[4i + j] = dot(x row i, W row j), i &lt; 2. */
    static void dot2x4(float[] x, int x0, int x1, MemorySegment w, boolean bf16, long w0, long w1, long w2, long w3,
            int kv, float[] buf, float[] res) {
        int shift = bf16 ? 1 : 2;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        for (int k = 0; k < kv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            long b = (long) k << shift;
            FloatVector u = load(w, w0 + b, bf16);
            a00 = v0.fma(u, a00);
            a10 = v1.fma(u, a10);
            u = load(w, w1 + b, bf16);
            a01 = v0.fma(u, a01);
            a11 = v1.fma(u, a11);
            u = load(w, w2 + b, bf16);
            a02 = v0.fma(u, a02);
            a12 = v1.fma(u, a12);
            u = load(w, w3 + b, bf16);
            a03 = v0.fma(u, a03);
            a13 = v1.fma(u, a13);
        }
        a00.intoArray(buf, 0);
        a01.intoArray(buf, L);
        a02.intoArray(buf, 2 * L);
        a03.intoArray(buf, 3 * L);
        a10.intoArray(buf, 4 * L);
        a11.intoArray(buf, 5 * L);
        a12.intoArray(buf, 6 * L);
        a13.intoArray(buf, 7 * L);
        GemmF32.reduce16(buf, res);
    }

    /** res[4i + j] = dot(x row i, W row j), i &lt; 4. */
    static void dot4x4(float[] x, int x0, int x1, int x2, int x3, MemorySegment w, boolean bf16, long w0, long w1,
            long w2, long w3, int kv, float[] buf, float[] res) {
        int shift = bf16 ? 1 : 2;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < kv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + k);
            long b = (long) k << shift;
            FloatVector u = load(w, w0 + b, bf16);
            a00 = v0.fma(u, a00);
            a10 = v1.fma(u, a10);
            a20 = v2.fma(u, a20);
            a30 = v3.fma(u, a30);
            u = load(w, w1 + b, bf16);
            a01 = v0.fma(u, a01);
            a11 = v1.fma(u, a11);
            a21 = v2.fma(u, a21);
            a31 = v3.fma(u, a31);
            u = load(w, w2 + b, bf16);
            a02 = v0.fma(u, a02);
            a12 = v1.fma(u, a12);
            a22 = v2.fma(u, a22);
            a32 = v3.fma(u, a32);
            u = load(w, w3 + b, bf16);
            a03 = v0.fma(u, a03);
            a13 = v1.fma(u, a13);
            a23 = v2.fma(u, a23);
            a33 = v3.fma(u, a33);
        }
        a00.intoArray(buf, 0);
        a01.intoArray(buf, L);
        a02.intoArray(buf, 2 * L);
        a03.intoArray(buf, 3 * L);
        a10.intoArray(buf, 4 * L);
        a11.intoArray(buf, 5 * L);
        a12.intoArray(buf, 6 * L);
        a13.intoArray(buf, 7 * L);
        a20.intoArray(buf, 8 * L);
        a21.intoArray(buf, 9 * L);
        a22.intoArray(buf, 10 * L);
        a23.intoArray(buf, 11 * L);
        a30.intoArray(buf, 12 * L);
        a31.intoArray(buf, 13 * L);
        a32.intoArray(buf, 14 * L);
        a33.intoArray(buf, 15 * L);
        GemmF32.reduce16(buf, res);
    }
}
