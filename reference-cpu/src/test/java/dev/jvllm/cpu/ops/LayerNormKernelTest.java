package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LayerNorm;
import org.junit.jupiter.api.Test;

class LayerNormKernelTest {

    private static Tensor run(Backend b, int t, int h, DType xt, DType ot, boolean bias, boolean inPlace, long seed) {
        // an offset of 5 makes the two-pass variance matter
        Tensor x = strided(b, xt, random(seed, t * h, 3, 7), t, h, 2, 1, 0f);
        Tensor w = Tensors.fromFloats(b, DType.F32, random(seed + 1, h, -2, 2), h);
        Tensor bi = bias ? Tensors.fromFloats(b, DType.BF16, random(seed + 2, h, -1, 1), h) : null;
        Tensor out = inPlace ? x : b.allocate(ot, t, h + 1).narrowLast(1, h);
        b.layerNorm(new LayerNorm(x, w, bi, out, 1e-5f));
        return out;
    }

    @Test
    void handChecked() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4, 10, 10, 10, 10}, 2, 4);
            Tensor w = Tensors.fromFloats(b, DType.F32, new float[] {1, 1, 1, 2}, 4);
            Tensor bias = Tensors.fromFloats(b, DType.F32, new float[] {0, 0, 0, 1}, 4);
            Tensor out = b.allocate(DType.F32, 2, 4);
            b.layerNorm(new LayerNorm(x, w, bias, out, 0f));
            double s = 1 / Math.sqrt(1.25); // var(1, 2, 3, 4) = 1.25
            float[] want = {(float) (-1.5 * s), (float) (-0.5 * s), (float) (0.5 * s), (float) (3 * s + 1), 0, 0, 0, 1};
            float[] got = Tensors.toFloats(out);
            // row 2 is constant: var 0, eps 0 → 0/0 = NaN in the contract; compare row 1 only
            assertArrayEquals(java.util.Arrays.copyOf(want, 4), java.util.Arrays.copyOf(got, 4), 1e-6f);
            b.layerNorm(new LayerNorm(x, w, bias, out, 1e-5f));
            assertArrayEquals(new float[] {0, 0, 0, 1}, java.util.Arrays.copyOfRange(Tensors.toFloats(out), 4, 8), 0f);
        }
    }

    @Test
    void scalarFormMatchesTheNaiveF64Computation() {
        int t = 4, h = 131;
        for (DType xt : FLOATS) {
            for (boolean bias : new boolean[] {false, true}) {
                float[] got = Tensors.toFloats(run(SCALAR, t, h, xt, DType.F32, bias, false, 9));
                float[] x = rounded(xt, random(9, t * h, 3, 7));
                float[] w = random(10, h, -2, 2);
                float[] bi = bias ? rounded(DType.BF16, random(11, h, -1, 1)) : new float[h];
                float[] want = new float[t * h];
                for (int i = 0; i < t; i++) {
                    double mean = 0, var = 0;
                    for (int j = 0; j < h; j++) {
                        mean += x[i * h + j] / (double) h;
                    }
                    for (int j = 0; j < h; j++) {
                        var += Math.pow(x[i * h + j] - mean, 2) / h;
                    }
                    for (int j = 0; j < h; j++) {
                        want[i * h + j] = (float) ((x[i * h + j] - mean) / Math.sqrt(var + 1e-5f) * w[j] + bi[j]);
                    }
                }
                assertClose(want, got, 1e-6, 1e-6, xt + " bias=" + bias);
            }
        }
    }

    @Test
    void simdMatchesScalar() {
        for (int h : new int[] {1, 8, 9, 63, 768, 769}) {
            for (DType xt : FLOATS) {
                for (DType ot : new DType[] {DType.F32, DType.BF16}) {
                    float[] s = Tensors.toFloats(run(SCALAR, 7, h, xt, ot, true, false, h));
                    float[] v = Tensors.toFloats(run(SIMD, 7, h, xt, ot, true, false, h));
                    // f32 sums (SIMD) vs f64 (scalar): ~1e-6 relative after the cancellation x − mean
                    assertClose(s, v, 2e-6, relUlp(ot) + 2e-6, "H=" + h + " " + xt + "->" + ot);
                    assertNmse(s, v, normNmse(ot), "H=" + h + " " + xt + "->" + ot);
                }
            }
        }
    }

    @Test
    void inPlaceAndBitIdenticalFor1And2And7Threads() {
        int t = 257, h = 769;
        Tensor[] outs = new Tensor[3];
        int[] threads = {1, 2, 7};
        for (int k = 0; k < 3; k++) {
            outs[k] = run(simd(threads[k]), t, h, DType.BF16, DType.BF16, true, k == 2, 33);
        }
        assertSameBits(outs[0], outs[1], "2 threads vs 1");
        assertSameBits(outs[0], outs[2], "7 threads (in place) vs 1");
        assertTrue(Tiles.rowGrain(h) < t, "the test must split rows over several tasks");
        Tensor s = run(SCALAR, 3, 40, DType.F16, DType.F16, false, true, 1);
        Tensor r = run(SCALAR, 3, 40, DType.F16, DType.F16, false, false, 1);
        assertSameBits(r, s, "scalar in place");
    }
}
