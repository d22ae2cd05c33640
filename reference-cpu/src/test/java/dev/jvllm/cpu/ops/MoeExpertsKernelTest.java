package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MoeExpertsKernelTest {
    static final Backend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    static final Backend SIMD = CpuBackend.create();

    /** A host-side MoE problem: values already rounded to their dtypes. */
    record Problem(int t, int h, int inter, int e, int k, DType xType, DType wType, DType outType, ActivationKind act,
            float[] x, float[] w13, float[] w2, float[] weights, int[] ids) {

        static Problem random(long seed, int t, int h, int inter, int e, int k, DType xType, DType wType, DType outType,
                ActivationKind act) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] ws = new float[t * k];
            int[] ids = new int[t * k];
            for (int i = 0; i < t * k; i++) {
                ws[i] = (float) r.nextDouble(0.05, 1);
                // skewed routing: expert 0 gets many tokens (4-wide path), some ids outside [0, E)
                ids[i] = r.nextInt(10) == 0 ? (r.nextBoolean() ? -1 : e) : r.nextInt(3) == 0 ? 0 : r.nextInt(e);
            }
            return new Problem(t, h, inter, e, k, xType, wType, outType, act, fill(r, t * h, xType, 1),
                    fill(r, e * 2 * inter * h, wType, 1 / Math.sqrt(h)), fill(r, e * h * inter, wType,
                            1 / Math.sqrt(inter)), ws, ids);
        }

        static float[] fill(SplittableRandom r, int n, DType dt, double scale) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = Numerics.roundTo(dt, (float) (scale * r.nextDouble(-2, 2)));
            }
            return v;
        }

        MoeExperts args(Backend b) {
            return new MoeExperts(Tensors.fromFloats(b, xType, x, t, h), Tensors.fromFloats(b, wType, w13, e, 2 * inter, h),
                    Tensors.fromFloats(b, wType, w2, e, h, inter), Tensors.fromFloats(b, DType.F32, weights, t, k),
                    Tensors.fromInts(b, ids, t, k), act, b.allocate(outType, t, h));
        }

        float[] run(Backend b) {
            MoeExperts a = args(b);
            assertTrue(b.supports(a));
            b.moeExperts(a);
            return Tensors.toFloats(a.out());
        }

        /** The contract in f64, with the intermediate activation rounded to x's dtype. */
        double[] naive() {
            double[] out = new double[t * h];
            for (int ti = 0; ti < t; ti++) {
                for (int j = 0; j < k; j++) {
                    int ex = ids[ti * k + j];
                    if (ex < 0 || ex >= e) {
                        continue;
                    }
                    double[] a = new double[inter];
                    for (int i = 0; i < inter; i++) {
                        double g = 0, u = 0;
                        for (int c = 0; c < h; c++) {
                            g += (double) w13[(ex * 2 * inter + i) * h + c] * x[ti * h + c];
                            u += (double) w13[(ex * 2 * inter + inter + i) * h + c] * x[ti * h + c];
                        }
                        double ag = switch (act) {
                            case SILU -> g / (1 + Math.exp(-g));
                            case GELU_TANH -> 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));
                            default -> 0.5 * g * (1 + MoeActivation.erf(g / Math.sqrt(2)));
                        };
                        a[i] = Numerics.roundTo(xType, (float) (ag * u));
                    }
                    for (int c = 0; c < h; c++) {
                        double y = 0;
                        for (int i = 0; i < inter; i++) {
                            y += w2[(ex * h + c) * inter + i] * a[i];
                        }
                        out[ti * h + c] += weights[ti * k + j] * y;
                    }
                }
            }
            return out;
        }
    }

    static double nmse(double[] r, float[] c) {
        double num = 0, den = 0;
        for (int i = 0; i < r.length; i++) {
            num += (c[i] - r[i]) * (c[i] - r[i]);
            den += r[i] * r[i];
        }
        return den == 0 ? num : num / den;
    }

    @Test
    void oneExpertByHand() {
        // H=2, I=1, E=1: g = x0 + x1 = 3, u = x0 = 1, a = silu(3)·1, out = 0.5·[2a, -a]
        float[] x = {1, 2};
        float[] w13 = {1, 1, 1, 0};
        float[] w2 = {2, -1};
        Problem p = new Problem(1, 2, 1, 1, 1, DType.F32, DType.F32, DType.F32, ActivationKind.SILU, x, w13, w2,
                new float[] {0.5f}, new int[] {0});
        double a = (float) (3 / (1 + Math.exp(-3)));
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] out = p.run(b);
            assertEquals(0.5 * 2 * a, out[0], 1e-6);
            assertEquals(-0.5 * a, out[1], 1e-6);
        }
    }

    @Test
    void idsOutsideTheShardContributeNothing() {
        Problem p = Problem.random(1, 3, 8, 4, 2, 2, DType.F32, DType.F32, DType.F32, ActivationKind.SILU);
        int[] ids = {-1, 2, 7, 2, 2, -5};
        Problem q = new Problem(3, 8, 4, 2, 2, DType.F32, DType.F32, DType.F32, ActivationKind.SILU, p.x(), p.w13(),
                p.w2(), p.weights(), ids);
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] out = q.run(b);
            for (float f : out) {
                assertEquals(0f, f);
            }
        }
    }

    @Test
    void erfIsAccurate() {
        // reference values of erf to 1e-15
        assertEquals(0.0, MoeActivation.erf(0), 0);
        assertEquals(0.5204998778130465, MoeActivation.erf(0.5), 1e-15);
        assertEquals(0.8427007929497149, MoeActivation.erf(1), 1e-15);
        assertEquals(-0.9953222650189527, MoeActivation.erf(-2), 1e-15);
        assertEquals(0.9999779095030014, MoeActivation.erf(3), 1e-15);
        assertEquals(0.9999999845827421, MoeActivation.erf(4), 1e-15);
        assertEquals(1.0, MoeActivation.erf(7), 0);
    }

    @Test
    void scalarMatchesNaiveForEveryActivationAndDtype() {
        long seed = 2;
        for (ActivationKind act : new ActivationKind[] {ActivationKind.SILU, ActivationKind.GELU_ERF,
            ActivationKind.GELU_TANH}) {
            for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                Problem p = Problem.random(seed++, 9, 33, 17, 4, 3, dt, dt, DType.F32, act);
                double[] want = p.naive();
                // f32: accumulation order only; bf16/f16: the rounded activation may flip by one ulp
                double tol = dt == DType.F32 ? 1e-11 : dt == DType.F16 ? 1e-7 : 1e-5;
                assertTrue(nmse(want, p.run(SCALAR)) < tol, act + " " + dt + " scalar " + nmse(want, p.run(SCALAR)));
                assertTrue(nmse(want, p.run(SIMD)) < tol, act + " " + dt + " simd " + nmse(want, p.run(SIMD)));
            }
        }
    }

    @Test
    void simdMatchesScalarForDtypeMixes() {
        DType[] fl = {DType.F32, DType.BF16, DType.F16};
        long seed = 20;
        for (DType xt : fl) {
            for (DType wt : fl) {
                for (DType ot : fl) {
                    // h, inter around vector widths: 16/32 lanes ± 1
                    int h = seed % 2 == 0 ? 65 : 48, inter = seed % 3 == 0 ? 31 : 33;
                    Problem p = Problem.random(seed++, 13, h, inter, 5, 4, xt, wt, ot, ActivationKind.SILU);
                    float[] s = p.run(SCALAR);
                    float[] v = p.run(SIMD);
                    double num = 0, den = 0;
                    for (int i = 0; i < s.length; i++) {
                        num += ((double) v[i] - s[i]) * ((double) v[i] - s[i]);
                        den += (double) s[i] * s[i];
                    }
                    double tol = xt == DType.F32 && ot == DType.F32 ? 1e-11 : 1e-5;
                    assertTrue(num / den < tol, xt + "/" + wt + "/" + ot + " nmse " + num / den);
                }
            }
        }
    }

    @Test
    void bitIdenticalFor1And2And7Threads() {
        Problem p = Problem.random(9, 37, 96, 40, 6, 4, DType.BF16, DType.BF16, DType.BF16, ActivationKind.GELU_TANH);
        byte[] ref = null;
        for (int threads : new int[] {1, 2, 7}) {
            Backend b = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
            MoeExperts a = p.args(b);
            b.moeExperts(a);
            byte[] got = Tensors.toBytes(a.out());
            if (ref == null) {
                ref = got;
            } else {
                assertArrayEquals(ref, got, threads + " threads");
            }
        }
    }
}
