package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products of one weight row (F32 or BF16 in native memory; F16 rows are widened to F32 by the
 * caller) with one or four f32 activation rows, for the SIMD form of {@link MoeExpertsKernel}.
 *
 * <p>Every dot product is the same sequence of operations in {@link #dot1} and {@link #dot4}: two
 * lane accumulators (even and odd vector chunks) with fma, added lane-wise, summed in lane order,
 * then the scalar tail with fma. So a token's result never depends on which other tokens share
 * its expert.
 */
final class MoeDot {
    static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SP.length();
    private static final VectorSpecies<Short> SS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(SP.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> SI = SP.withLanes(int.class);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private MoeDot() {
    }

    /** Lanes c..c+LANES of the weight row as f32. */
    private static FloatVector load(MemorySegment w, long wo, boolean bf16, int c) {
        if (!bf16) {
            return FloatVector.fromMemorySegment(SP, w, wo + 4L * c, LE);
        }
        ShortVector s = ShortVector.fromMemorySegment(SS, w, wo + 2L * c, LE);
        return ((IntVector) s.convertShape(VectorOperators.S2I, SI, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    private static float scalar(MemorySegment w, long wo, boolean bf16, int c) {
        return bf16 ? Numerics.bf16ToF32(w.get(I16, wo + 2L * c)) : w.get(F32, wo + 4L * c);
    }

    private static float finish(FloatVector even, FloatVector odd, MemorySegment w, long wo, boolean bf16, float[] x,
            int xo, int n, float[] lane) {
        even.add(odd).intoArray(lane, 0);
        float s = lane[0];
        for (int i = 1; i < LANES; i++) {
            s += lane[i];
        }
        for (int c = SP.loopBound(n); c < n; c++) {
            s = Math.fma(scalar(w, wo, bf16, c), x[xo + c], s);
        }
        return s;
    }

    /** Σ_c w[c]·x[xo + c] over n elements; w at byte offset wo, F32 or (bf16) BF16. */
    static float dot1(MemorySegment w, long wo, boolean bf16, float[] x, int xo, int n, float[] lane) {
        int vb = SP.loopBound(n);
        FloatVector e = FloatVector.zero(SP), o = FloatVector.zero(SP);
        int c = 0;
        for (; c + 2 * LANES <= vb; c += 2 * LANES) {
            e = load(w, wo, bf16, c).fma(FloatVector.fromArray(SP, x, xo + c), e);
            o = load(w, wo, bf16, c + LANES).fma(FloatVector.fromArray(SP, x, xo + c + LANES), o);
        }
        if (c < vb) {
            e = load(w, wo, bf16, c).fma(FloatVector.fromArray(SP, x, xo + c), e);
        }
        return finish(e, o, w, wo, bf16, x, xo, n, lane);
    }

    /** {@link #dot1} of one weight row with four activation rows: res[ro..ro+4). */
    static void dot4(MemorySegment w, long wo, boolean bf16, float[] x, int xa, int xb, int xc, int xd, int n,
            float[] res, int ro, float[] lane) {
        int vb = SP.loopBound(n);
        FloatVector ae = FloatVector.zero(SP), ao = FloatVector.zero(SP), be = FloatVector.zero(SP),
                bo = FloatVector.zero(SP), ce = FloatVector.zero(SP), co = FloatVector.zero(SP),
                de = FloatVector.zero(SP), dO = FloatVector.zero(SP);
        int c = 0;
        for (; c + 2 * LANES <= vb; c += 2 * LANES) {
            int c2 = c + LANES;
            FloatVector w0 = load(w, wo, bf16, c), w1 = load(w, wo, bf16, c2);
            ae = w0.fma(FloatVector.fromArray(SP, x, xa + c), ae);
            ao = w1.fma(FloatVector.fromArray(SP, x, xa + c2), ao);
            be = w0.fma(FloatVector.fromArray(SP, x, xb + c), be);
            bo = w1.fma(FloatVector.fromArray(SP, x, xb + c2), bo);
            ce = w0.fma(FloatVector.fromArray(SP, x, xc + c), ce);
            co = w1.fma(FloatVector.fromArray(SP, x, xc + c2), co);
            de = w0.fma(FloatVector.fromArray(SP, x, xd + c), de);
            dO = w1.fma(FloatVector.fromArray(SP, x, xd + c2), dO);
        }
        if (c < vb) {
            FloatVector w0 = load(w, wo, bf16, c);
            ae = w0.fma(FloatVector.fromArray(SP, x, xa + c), ae);
            be = w0.fma(FloatVector.fromArray(SP, x, xb + c), be);
            ce = w0.fma(FloatVector.fromArray(SP, x, xc + c), ce);
            de = w0.fma(FloatVector.fromArray(SP, x, xd + c), de);
        }
        res[ro] = finish(ae, ao, w, wo, bf16, x, xa, n, lane);
        res[ro + 1] = finish(be, bo, w, wo, bf16, x, xb, n, lane);
        res[ro + 2] = finish(ce, co, w, wo, bf16, x, xc, n, lane);
        res[ro + 3] = finish(de, dO, w, wo, bf16, x, xd, n, lane);
    }

    /** Widens an F16 row of n elements at {@code src[so..]} into f32 at {@code dst[0..]}. */
    static void f16ToF32(MemorySegment src, long so, MemorySegment dst, int n) {
        for (int c = 0; c < n; c++) {
            dst.set(F32, 4L * c, Float.float16ToFloat(src.get(I16, so + 2L * c)));
        }
    }

    /** Whether a weight of this dtype is read as BF16 (else F32, after F16 widening). */
    static boolean isBf16(DType t) {
        return t == DType.BF16;
    }
}
