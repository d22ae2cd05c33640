package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.RmsNorm;
import org.junit.jupiter.api.Test;

class RmsNormKernelTest {

    /** One call's tensors, made on one backend from fixed data. */
    private record Call(RmsNorm args, Tensor out, Tensor residualOut) {
    }

    private static Call call(Backend b, int t, int h, DType xt, DType wt, DType ot, boolean residual, boolean gemma,
            boolean inPlace, long seed) {
        Tensor x = strided(b, xt, random(seed, t * h, -3, 3), t, h, 1, 2, 0f);
        Tensor w = Tensors.fromFloats(b, wt, random(seed + 1, h, -1.5, 1.5), h);
        Tensor res = residual ? strided(b, xt, random(seed + 2, t * h, -3, 3), t, h, 0, 1, 0f) : null;
        Tensor out = inPlace ? x : b.allocate(ot, t, h + 3).narrowLast(3, h);
        Tensor resOut = residual ? (inPlace ? res : b.allocate(xt, t, h)) : null;
        RmsNorm a = new RmsNorm(x, w, res, out, resOut, 1e-6f, gemma);
        b.rmsNorm(a);
        return new Call(a, out, resOut);
    }

    /** The contract in f64 where it allows, with its mandated roundings. */
    private static float[][] naive(float[] x, float[] res, float[] w, int t, int h, DType xt, DType rt, DType ot,
            float eps, boolean gemma) {
        float[] out = new float[t * h];
        float[] rOut = res == null ? null : new float[t * h];
        for (int i = 0; i < t; i++) {
            double[] r = new double[h];
            double ss = 0;
            for (int j = 0; j < h; j++) {
                r[j] = x[i * h + j];
                if (res != null) {
                    r[j] = Numerics.roundTo(rt, (float) (r[j] + res[i * h + j]));
                    rOut[i * h + j] = (float) r[j];
                }
                ss += r[j] * r[j];
            }
            double inv = 1 / Math.sqrt(ss / h + eps);
            for (int j = 0; j < h; j++) {
                double n = r[j] * inv;
                out[i * h + j] = Numerics.roundTo(ot, (float) (gemma ? n * (1 + (double) w[j])
                        : Numerics.roundTo(xt, (float) n) * (double) w[j]));
            }
        }
        return new float[][] {out, rOut};
    }

    @Test
    void handChecked() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4}, 1, 4);
            Tensor w = Tensors.fromFloats(b, DType.F32, new float[] {1, 1, 2, 0}, 4);
            Tensor out = b.allocate(DType.F32, 1, 4);
            b.rmsNorm(new RmsNorm(x, w, null, out, null, 0f, false));
            double inv = 1 / Math.sqrt(7.5); // mean(1, 4, 9, 16) = 7.5
            assertArrayEquals(new float[] {(float) inv, (float) (2 * inv), (float) (6 * inv), 0f}, Tensors.toFloats(out), 1e-6f);
            b.rmsNorm(new RmsNorm(x, w, null, out, null, 0f, true)); // Gemma: (1 + w)
            assertArrayEquals(new float[] {(float) (2 * inv), (float) (4 * inv), (float) (9 * inv), (float) (4 * inv)},
                    Tensors.toFloats(out), 1e-6f);
            Tensor res = Tensors.fromFloats(b, DType.F32, new float[] {-1, -2, -3, -3}, 1, 4);
            Tensor resOut = b.allocate(DType.F32, 1, 4);
            b.rmsNorm(new RmsNorm(x, w, res, out, resOut, 0f, false)); // r = (0, 0, 0, 1): mean 1/4
            assertArrayEquals(new float[] {0, 0, 0, 1}, Tensors.toFloats(resOut), 0f);
            assertArrayEquals(new float[] {0, 0, 0, 0}, Tensors.toFloats(out), 0f); // w[3] = 0
        }
    }

    @Test
    void scalarFormFollowsTheContract() {
        int t = 5, h = 67;
        for (DType xt : FLOATS) {
            for (DType ot : FLOATS) {
                for (boolean residual : new boolean[] {false, true}) {
                    for (boolean gemma : new boolean[] {false, true}) {
                        Call c = call(SCALAR, t, h, xt, DType.BF16, ot, residual, gemma, false, 5);
                        float[] x = rounded(xt, random(5, t * h, -3, 3));
                        float[] res = residual ? rounded(xt, random(7, t * h, -3, 3)) : null;
                        float[] w = rounded(DType.BF16, random(6, h, -1.5, 1.5));
                        float[][] want = naive(x, res, w, t, h, xt, xt, ot, 1e-6f, gemma);
                        String what = xt + "->" + ot + " residual=" + residual + " gemma=" + gemma;
                        if (residual) {
                            assertArrayEquals(want[1], Tensors.toFloats(c.residualOut()), 0f, what + " residualOut");
                        }
                        // f32 vs f64 inv and the mid rounding to x's dtype may each move a value one ulp
                        assertClose(want[0], Tensors.toFloats(c.out()), 1e-6, relUlp(ot) + 2 * relUlp(xt) + 1e-6, what);
                    }
                }
            }
        }
    }

    @Test
    void simdMatchesScalar() {
        for (int h : new int[] {1, 7, 16, 17, 768, 769}) {
            for (DType xt : FLOATS) {
                for (boolean residual : new boolean[] {false, true}) {
                    for (boolean gemma : new boolean[] {false, true}) {
                        DType ot = xt == DType.F32 ? DType.BF16 : xt;
                        Call s = call(SCALAR, 9, h, xt, DType.F32, ot, residual, gemma, false, h);
                        Call v = call(SIMD, 9, h, xt, DType.F32, ot, residual, gemma, false, h);
                        String what = "H=" + h + " " + xt + " residual=" + residual + " gemma=" + gemma;
                        if (residual) {
                            assertSameBits(s.residualOut(), v.residualOut(), what + " residualOut");
                        }
                        // Σr² in f32 (SIMD) vs f64 (scalar): inv differs by ~1e-7, which can flip one rounding
                        float[] so = Tensors.toFloats(s.out()), vo = Tensors.toFloats(v.out());
                        assertClose(so, vo, 1e-6, relUlp(ot) + relUlp(xt) + 1e-6, what);
                        // rare one-ulp flips only: a skipped or extra rounding shows in the NMSE
                        assertNmse(so, vo, normNmse(gemma ? ot : (relUlp(xt) > relUlp(ot) ? xt : ot)), what);
                    }
                }
            }
        }
    }

    @Test
    void inPlaceOutIsXAndResidualOutIsResidual() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Call ref = call(b, 4, 33, DType.BF16, DType.BF16, DType.BF16, true, false, false, 3);
            Call in = call(b, 4, 33, DType.BF16, DType.BF16, DType.BF16, true, false, true, 3);
            assertSameBits(ref.out(), in.out(), "out == x on " + b.description());
            assertSameBits(ref.residualOut(), in.residualOut(), "residualOut == residual on " + b.description());
        }
    }

    @Test
    void bitIdenticalFor1And2And7Threads() {
        int t = 301, h = 769; // enough rows for several pool tasks on any thread count
        Tensor[] outs = new Tensor[3];
        Tensor[] resOuts = new Tensor[3];
        int[] threads = {1, 2, 7};
        for (int k = 0; k < 3; k++) {
            Call c = call(simd(threads[k]), t, h, DType.BF16, DType.BF16, DType.BF16, true, false, false, 17);
            outs[k] = c.out();
            resOuts[k] = c.residualOut();
        }
        for (int k = 1; k < 3; k++) {
            assertSameBits(outs[0], outs[k], threads[k] + " threads vs 1");
            assertSameBits(resOuts[0], resOuts[k], threads[k] + " threads vs 1 (residual)");
        }
        assertEquals(Tiles.rowGrain(h) < t, true, "the test must split rows over several tasks");
    }
}
