package dev.jvllm.cpu.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp and tanh for the attention SIMD form, built only from lane-wise IEEE operations (mul, add,
 * fma, bit shifts) so that a lane and the scalar twin give the same bits in interpreted, C1 and C2
 * code alike. ({@code VectorOperators.EXP} is not used: compiled code calls a vector math library
 * whose results differ from the interpreter's, which would make results depend on JIT timing.)
 *
 * <p>exp: {@code x = n·ln2 + r}, |r| ≤ ln2/2, degree-7 Taylor polynomial for e^r (error below
 * 1e-8 relative), times 2^n; defined for x ≤ 0 (softmax arguments after max subtraction), 0 below
 * −87.33, NaN stays NaN. tanh: {@code sign(y)·(1 − e^{−2|y|}) / (1 + e^{−2|y|})}.
 */
final class AttentionMath {
    private static final float LOG2E = 1.44269504f;
    private static final float MAGIC = 12582912f; // 1.5·2^23: adding it rounds to an integer in the low bits
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float MIN_ARG = -87.33f;
    private static final float C7 = 1f / 5040, C6 = 1f / 720, C5 = 1f / 120, C4 = 1f / 24, C3 = 1f / 6, C2 = 0.5f;

    private AttentionMath() {
    }

    /** e^x for x ≤ 0 (lane-wise twin of {@link #exp(FloatVector)}). */
    static float exp(float x) {
        float xc = Math.max(x, MIN_ARG);
        float t = Math.fma(xc, LOG2E, MAGIC);
        float n = t - MAGIC;
        float r = Math.fma(n, -LN2_HI, xc);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int e = Float.floatToRawIntBits(t) - MAGIC_BITS + 127;
        float res = p * Float.intBitsToFloat(e << 23);
        return x < MIN_ARG ? 0f : res;
    }

    /** e^x lane-wise for x ≤ 0. */
    static FloatVector exp(FloatVector x) {
        var sp = x.species();
        FloatVector xc = x.max(MIN_ARG);
        FloatVector t = xc.fma(FloatVector.broadcast(sp, LOG2E), FloatVector.broadcast(sp, MAGIC));
        FloatVector n = t.sub(MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(sp, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(sp, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(sp, C7).fma(r, FloatVector.broadcast(sp, C6));
        p = p.fma(r, FloatVector.broadcast(sp, C5));
        p = p.fma(r, FloatVector.broadcast(sp, C4));
        p = p.fma(r, FloatVector.broadcast(sp, C3));
        p = p.fma(r, FloatVector.broadcast(sp, C2));
        p = p.fma(r, FloatVector.broadcast(sp, 1f));
        p = p.fma(r, FloatVector.broadcast(sp, 1f));
        IntVector e = t.reinterpretAsInts().sub(MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector res = p.mul(e.reinterpretAsFloats());
        return res.blend(0f, x.compare(VectorOperators.LT, MIN_ARG));
    }

    /** tanh(y) (lane-wise twin of {@link #tanh(FloatVector)}). */
    static float tanh(float y) {
        float t = exp(-2f * Math.abs(y));
        float th = (1f - t) / (1f + t);
        return y < 0 ? -th : th;
    }

    /** tanh(y) lane-wise. */
    static FloatVector tanh(FloatVector y) {
        FloatVector t = exp(y.abs().mul(-2f));
        FloatVector th = t.neg().add(1f).div(t.add(1f));
        return th.blend(th.neg(), y.compare(VectorOperators.LT, 0f));
    }
}
