package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import org.junit.jupiter.api.Test;

class ActivationKernelTest {
    static final float CAP = 5f;

    /** The definitions of ActivationKind in f64, written independently of the kernel (erf by its series). */
    static double naive(ActivationKind fn, double x) {
        return switch (fn) {
            case SILU -> x * (1 / (1 + Math.exp(-x)));
            case GELU_ERF -> 0.5 * x * (1 + VectorMathTest.erfSeries(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * Math.pow(x, 3))));
            case RELU -> x > 0 ? x : 0;
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case SOFTPLUS -> x > 20 ? x : Math.log(1 + Math.exp(x));
            case TANH_SOFTCAP -> CAP * Math.tanh(x / CAP);
        };
    }

    private static Tensor run(Backend b, ActivationKind fn, DType xt, DType ot, float[] xv, int rows, int cols) {
        Tensor x = strided(b, xt, xv, rows, cols, 1, 2, 0f);
        Tensor out = b.allocate(ot, rows, cols + 3).narrowLast(2, cols);
        b.activation(new Activation(fn, x, out, fn == ActivationKind.TANH_SOFTCAP ? CAP : 0f));
        return out;
    }

    @Test
    void handCheckedValues() {
        float[] x = {1f, 0f, -2f, 30f, 5f};
        Object[][] want = {
            {ActivationKind.SILU, new double[] {0.7310585786300049, 0, -0.23840584404423512, 29.999999999997193, 4.966535745378576}},
            {ActivationKind.GELU_ERF, new double[] {0.8413447460685429, 0, -0.04550026389635842, 30, 4.999998566742141}},
            {ActivationKind.GELU_TANH, new double[] {0.8411919906082768, 0, -0.04540230591222, 30, 4.999999770820381}},
            {ActivationKind.RELU, new double[] {1, 0, 0, 30, 5}},
            {ActivationKind.SIGMOID, new double[] {0.7310585786300049, 0.5, 0.11920292202211755, 1, 0.9933071490757153}},
            {ActivationKind.SOFTPLUS, new double[] {1.3132616875182228, 0.6931471805599453, 0.1269280110429725, 30,
                5.006715348489118}},
            {ActivationKind.TANH_SOFTCAP, new double[] {0.98687660112452, 0, -1.8997448112761244, 4.9999385582539775,
                3.8079707797788243}},
        };
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            for (Object[] w : want) {
                ActivationKind fn = (ActivationKind) w[0];
                float[] got = Tensors.toFloats(run(b, fn, DType.F32, DType.F32, x, 1, x.length));
                double[] e = (double[]) w[1];
                for (int i = 0; i < x.length; i++) {
                    assertEquals(e[i], got[i], 4e-7 * Math.abs(e[i]) + 1e-30, fn + "(" + x[i] + ") on " + b.description());
                }
            }
        }
    }

    @Test
    void scalarFormMatchesTheNaiveDefinitions() {
        int n = 4001;
        float[] xv = random(11, n, -12, 12);
        xv[0] = 0f;
        xv[1] = -0f;
        xv[2] = 20f;
        xv[3] = 20.5f;
        xv[4] = -1e-30f;
        for (ActivationKind fn : ActivationKind.values()) {
            for (DType ot : FLOATS) {
                float[] got = Tensors.toFloats(run(SCALAR, fn, DType.F32, ot, xv, 1, n));
                float[] want = new float[n];
                for (int i = 0; i < n; i++) {
                    want[i] = Numerics.roundTo(ot, (float) naive(fn, xv[i]));
                }
                // both round one f64 value (which may move it one ulp of ot); GELU_ERF's erf fit adds
                // |x|/2·5e-9 ≤ 3e-8 absolute; f16 results below 6e-5 are subnormal, spaced 6e-8
                assertClose(want, got, 3e-8 + (ot == DType.F16 ? 6e-8 : 0), 2 * relUlp(ot), fn + " -> " + ot);
            }
        }
    }

    @Test
    void simdMatchesScalarWithinAFewUlpOnEveryDtype() {
        int rows = 3, cols = Tiles.TILE_COLS + 45;
        float[] xv = random(12, rows * cols, -10, 10);
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 20f, 20.0001f, -20f,
                88f, -88f, 100f, -100f, 1e-20f, -1e-20f, 0.625f, -0.625f, 4.3f * 1.41421356f, -6.08f};
        System.arraycopy(special, 0, xv, 7, special.length);
        for (ActivationKind fn : ActivationKind.values()) {
            for (DType xt : FLOATS) {
                for (DType ot : FLOATS) {
                    float[] s = Tensors.toFloats(run(SCALAR, fn, xt, ot, xv, rows, cols));
                    float[] v = Tensors.toFloats(run(SIMD, fn, xt, ot, xv, rows, cols));
                    // f32: ≤ 12 ulp (gelu_tanh for x < -3, see VectorMathTest); narrower outputs: one ulp of
                    // their own after rounding a value that differs in the last f32 bits
                    double rtol = ot == DType.F32 ? 12 * relUlp(DType.F32) : relUlp(ot) + 12 * relUlp(DType.F32);
                    assertClose(s, v, 1e-9 + (ot == DType.F16 ? 6e-8 : 0), rtol, fn + " " + xt + "->" + ot);
                }
            }
        }
    }

    @Test
    void inPlaceOnBf16() {
        float[] xv = random(13, 2 * 100, -4, 4);
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor x = Tensors.fromFloats(b, DType.BF16, xv, 2, 100);
            b.activation(new Activation(ActivationKind.SILU, x, x, 0f));
            float[] want = new float[xv.length];
            float[] r = rounded(DType.BF16, xv);
            for (int i = 0; i < r.length; i++) {
                want[i] = Numerics.roundTo(DType.BF16, (float) naive(ActivationKind.SILU, r[i]));
            }
            assertClose(want, Tensors.toFloats(x), 0, relUlp(DType.BF16), b.description());
        }
    }
}
