package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import org.junit.jupiter.api.Test;

class GatedActivationKernelTest {
    private static final ActivationKind[] FNS = {ActivationKind.SILU, ActivationKind.GELU_ERF, ActivationKind.GELU_TANH,
        ActivationKind.RELU};

    /** x: columns [1, 1 + 2N) of a wider [T, 2N + 3] projection, as models call it. */
    private static Tensor run(Backend b, ActivationKind fn, DType xt, DType ot, float[] xv, int t, int n) {
        Tensor x = strided(b, xt, xv, t, 2 * n, 1, 2, 0f);
        Tensor out = b.allocate(ot, t, n + 1).narrowLast(1, n);
        b.gatedActivation(new GatedActivation(fn, x, out));
        return out;
    }

    @Test
    void handCheckedSiluAndMul() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] x = {1f, -2f, 3f, 0.5f}; // gate [1, -2] | up [3, 0.5]
            float[] got = Tensors.toFloats(run(b, ActivationKind.SILU, DType.F32, DType.F32, x, 1, 2));
            assertArrayEquals(new float[] {(float) (0.7310585786300049 * 3), (float) (-0.23840584404423515 * 0.5)}, got, 3e-7f);
            got = Tensors.toFloats(run(b, ActivationKind.RELU, DType.F32, DType.F32, x, 1, 2));
            assertArrayEquals(new float[] {3f, 0f}, got, 0f);
        }
    }

    @Test
    void scalarFormMatchesTheNaiveDefinition() {
        int t = 3, n = 257;
        float[] xv = random(21, t * 2 * n, -6, 6);
        for (ActivationKind fn : FNS) {
            for (DType ot : FLOATS) {
                float[] got = Tensors.toFloats(run(SCALAR, fn, DType.F32, ot, xv, t, n));
                float[] want = new float[t * n];
                for (int r = 0; r < t; r++) {
                    for (int j = 0; j < n; j++) {
                        double g = xv[r * 2 * n + j], u = xv[r * 2 * n + n + j];
                        want[r * n + j] = Numerics.roundTo(ot, (float) (ActivationKernelTest.naive(fn, g) * u));
                    }
                }
                // f(g) is rounded to f32 before the f32 product: up to two f32 roundings from the f64 value;
                // GELU_ERF's erf fit adds |g|/2·5e-9·|u| ≤ 1e-7 absolute; f16 subnormals are spaced 6e-8
                assertClose(want, got, 1e-7 + (ot == DType.F16 ? 6e-8 : 0), relUlp(ot) + 2 * relUlp(DType.F32),
                        fn + " -> " + ot);
            }
        }
    }

    @Test
    void simdMatchesScalarOnEveryDtype() {
        int t = 5, n = Tiles.TILE_COLS + 13;
        float[] xv = random(22, t * 2 * n, -8, 8);
        for (ActivationKind fn : FNS) {
            for (DType xt : FLOATS) {
                for (DType ot : FLOATS) {
                    float[] s = Tensors.toFloats(run(SCALAR, fn, xt, ot, xv, t, n));
                    float[] v = Tensors.toFloats(run(SIMD, fn, xt, ot, xv, t, n));
                    double rtol = ot == DType.F32 ? 12 * relUlp(DType.F32) : relUlp(ot) + 12 * relUlp(DType.F32);
                    assertClose(s, v, 1e-9 + (ot == DType.F16 ? 6e-8 : 0), rtol, fn + " " + xt + "->" + ot);
                }
            }
        }
    }

    @Test
    void supportsOnlyTheFourGateFunctions() {
        Tensor x = SIMD.allocate(DType.F32, 2, 8);
        Tensor out = SIMD.allocate(DType.F32, 2, 4);
        for (ActivationKind fn : ActivationKind.values()) {
            boolean gate = java.util.Arrays.asList(FNS).contains(fn);
            assertTrue(SIMD.supports(new GatedActivation(fn, x, out)) == gate, fn.toString());
        }
        assertFalse(SIMD.supports(new GatedActivation(ActivationKind.SILU, SIMD.allocate(DType.I32, 2, 8), out)));
        assertThrows(IllegalArgumentException.class,
                () -> SIMD.gatedActivation(new GatedActivation(ActivationKind.SIGMOID, x, out)));
    }
}
