package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.GatedRmsNorm;
import org.junit.jupiter.api.Test;

class GatedRmsNormKernelTest {

    private static Tensor run(Backend b, int t, int d, int group, DType xt, DType ot, boolean normFirst, boolean inPlace,
            long seed) {
        Tensor x = strided(b, xt, random(seed, t * d, -3, 3), t, d, 1, 0, 0f);
        // z as the right half of a fused [x | z] projection
        Tensor xz = Tensors.fromFloats(b, xt, random(seed + 1, t * 2 * d, -4, 4), t, 2 * d);
        Tensor z = xz.narrowLast(d, d);
        Tensor w = Tensors.fromFloats(b, DType.BF16, random(seed + 2, d, 0.5, 1.5), d);
        Tensor out = inPlace ? x : b.allocate(ot, t, d + 2).narrowLast(2, d);
        b.gatedRmsNorm(new GatedRmsNorm(x, z, w, out, group, 1e-5f, normFirst));
        return out;
    }

    private static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    @Test
    void handChecked() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            // one row, two groups of 2: x = (3, 4 | 1, 1), z = 0 → silu(z) = 0 when gating first: out = 0/sqrt(eps)
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {3, 4, 1, 1}, 1, 4);
            Tensor z = Tensors.fromFloats(b, DType.F32, new float[] {20, 20, 20, 20}, 1, 4); // silu(20) ≈ 20
            Tensor w = Tensors.fromFloats(b, DType.F32, new float[] {1, 1, 1, 2}, 4);
            Tensor out = b.allocate(DType.F32, 1, 4);
            b.gatedRmsNorm(new GatedRmsNorm(x, z, w, out, 2, 0f, true));
            double s20 = silu(20);
            double r1 = Math.sqrt(12.5); // rms(3, 4)
            assertArrayEquals(new float[] {(float) (3 / r1 * s20), (float) (4 / r1 * s20), (float) s20, (float) (2 * s20)},
                    Tensors.toFloats(out), 1e-5f);
            b.gatedRmsNorm(new GatedRmsNorm(x, z, w, out, 2, 0f, false)); // g = x·silu(z): the norm cancels silu(20)
            assertArrayEquals(new float[] {(float) (3 / r1), (float) (4 / r1), 1f, 2f}, Tensors.toFloats(out), 1e-6f);
        }
    }

    @Test
    void scalarFormMatchesTheNaiveDefinition() {
        int t = 3, d = 96;
        for (int group : new int[] {96, 32, 8, 1}) {
            for (boolean normFirst : new boolean[] {false, true}) {
                float[] got = Tensors.toFloats(run(SCALAR, t, d, group, DType.F32, DType.F32, normFirst, false, group));
                float[] x = random(group, t * d, -3, 3);
                float[] xz = random(group + 1, t * 2 * d, -4, 4);
                float[] w = rounded(DType.BF16, random(group + 2, d, 0.5, 1.5));
                float[] want = new float[t * d];
                for (int i = 0; i < t; i++) {
                    for (int g0 = 0; g0 < d; g0 += group) {
                        double ss = 0;
                        for (int j = g0; j < g0 + group; j++) {
                            double v = normFirst ? x[i * d + j] : x[i * d + j] * silu(xz[i * 2 * d + d + j]);
                            ss += v * v;
                        }
                        double rms = Math.sqrt(ss / group + 1e-5f);
                        for (int j = g0; j < g0 + group; j++) {
                            double zs = silu(xz[i * 2 * d + d + j]);
                            want[i * d + j] = (float) (normFirst ? x[i * d + j] / rms * w[j] * zs
                                    : x[i * d + j] * zs / rms * w[j]);
                        }
                    }
                }
                assertClose(want, got, 1e-7, 4e-7, "group " + group + " normFirst " + normFirst);
            }
        }
    }

    @Test
    void simdMatchesScalar() {
        for (int[] dg : new int[][] {{256, 256}, {256, 64}, {384, 128}, {130, 13}, {24, 3}, {17, 17}}) {
            for (DType xt : FLOATS) {
                for (boolean normFirst : new boolean[] {false, true}) {
                    DType ot = xt == DType.F32 ? DType.F32 : DType.BF16;
                    float[] s = Tensors.toFloats(run(SCALAR, 5, dg[0], dg[1], xt, ot, normFirst, false, dg[0]));
                    float[] v = Tensors.toFloats(run(SIMD, 5, dg[0], dg[1], xt, ot, normFirst, false, dg[0]));
                    String what = "D=" + dg[0] + " group=" + dg[1] + " " + xt + " normFirst=" + normFirst;
                    assertClose(s, v, 1e-6, relUlp(ot) + 1e-5, what);
                    assertNmse(s, v, normNmse(ot), what);
                }
            }
        }
    }

    @Test
    void inPlaceAndThreadCountInvariant() {
        Tensor one = run(simd(1), 200, 512, 128, DType.BF16, DType.BF16, false, false, 3);
        Tensor seven = run(simd(7), 200, 512, 128, DType.BF16, DType.BF16, false, true, 3);
        assertSameBits(one, seven, "7 threads in place vs 1");
    }
}
