package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The batch-1 GEMV (linear.cu {@code gemv}) with its K cut into 1, 2 or 4 slices per row pair
 * ({@link LinearKernels#gemvSplits}): every output is the exact dot product rounded to bf16 within
 * the f32 accumulation's error, for odd row counts (a last pair with one real row), K not a multiple
 * of a batch, bias, and the gated epilogue; and a replay gives the bits of an eager run. On sm_90 and
 * later the weights go through a shared-memory ring of bulk copies (linear.cu {@code gemv_ring}), whose
 * bits are the register form's.
 */
class CudaGemvTest extends CudaDeviceTest {

    /** bf16 values of random floats (so that host and device see the same inputs). */
    private static float[] bf16(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = Numerics.bf16ToF32(Numerics.f32ToBf16((float) r.nextDouble(-scale, scale)));
        }
        return v;
    }

    private static double dot(float[] x, float[] w, int row, int k) {
        double s = 0;
        for (int i = 0; i < k; i++) {
            s += (double) x[i] * w[row * k + i];
        }
        return s;
    }

    /** |got − exact| within bf16 rounding of the result plus the f32 sum's error over k terms. */
    private static void assertClose(double exact, float got, double magnitude, int k, String what) {
        double tol = Math.abs(exact) / 128 + k * 1e-7 * magnitude + 1e-6;
        assertEquals(exact, got, tol, what);
    }

    @Test
    void everySplitGivesTheDotProductWithinRounding() {
        int[][] shapes = {{64, 4096}, {2048, 2048}, {3072, 2048}, {37, 2056}, {10, 5000}, {2048, 8192}};
        for (int[] nk : shapes) {
            int n = nk[0], k = nk[1];
            for (boolean hasBias : new boolean[] {false, true}) {
                SplittableRandom r = new SplittableRandom(31L * n + k + (hasBias ? 1 : 0));
                float[] x = bf16(r, k, 2), w = bf16(r, n * k, 0.05), bias = bf16(r, n, 1);
                try (Tensor tx = Tensors.fromFloats(cuda, DType.BF16, x, 1, k);
                     Tensor tw = Tensors.fromFloats(cuda, DType.BF16, w, n, k);
                     Tensor tb = Tensors.fromFloats(cuda, DType.BF16, bias, n);
                     Tensor out = cuda.allocate(DType.BF16, 1, n)) {
                    cuda.linear(new Linear(tx, new LinearWeight.Dense(tw), hasBias ? tb : null, out));
                    float[] got = Tensors.toFloats(out);
                    for (int j = 0; j < n; j++) {
                        double exact = dot(x, w, j, k) + (hasBias ? bias[j] : 0);
                        assertClose(exact, got[j], 2 * 0.05 * Math.sqrt(k), k, n + "x" + k + " (splits "
                                + LinearKernels.gemvSplits((n + 1) / 2, k) + ", bias " + hasBias + ") row " + j);
                    }
                }
            }
        }
    }

    @Test
    void theGatedEpilogueWithSplitsGivesTheBitsOfTheOpsApartAndAReplayTheBitsOfAnEagerRun() {
        int n = 64, k = 4096; // 32 outputs: four slices per gate/up pair
        assertEquals(4, LinearKernels.gemvSplits(n / 2, k));
        SplittableRandom r = new SplittableRandom(77);
        float[] x = bf16(r, k, 2), w = bf16(r, n * k, 0.05);
        try (Tensor tx = Tensors.fromFloats(cuda, DType.BF16, x, 1, k);
             Tensor tw = Tensors.fromFloats(cuda, DType.BF16, w, n, k);
             Tensor out = cuda.allocate(DType.BF16, 1, n);
             Tensor act = cuda.allocate(DType.BF16, 1, n / 2)) {
            Runnable ops = () -> {
                cuda.linear(new Linear(tx, new LinearWeight.Dense(tw), null, out));
                cuda.gatedActivation(new GatedActivation(ActivationKind.SILU, out, act));
            };
            cuda.fusions(CudaBackend.fusions("gated"));
            long before = cuda.fusedActivations();
            ops.run();
            assertEquals(before + 1, cuda.fusedActivations(), "the activation ran as the GEMV's epilogue");
            byte[] fusedOut = Tensors.toBytes(out), fusedAct = Tensors.toBytes(act);
            cuda.fusions(CudaBackend.fusions("none"));
            ops.run();
            assertArrayEquals(fusedOut, Tensors.toBytes(out));
            assertArrayEquals(fusedAct, Tensors.toBytes(act));
            cuda.fusions(CudaBackend.fusions("gated"));
            try (var graph = cuda.capture(ops)) {
                Tensors.writeFloats(out, new float[n]);
                graph.replay();
                assertArrayEquals(fusedOut, Tensors.toBytes(out));
                assertArrayEquals(fusedAct, Tensors.toBytes(act));
            }
            float[] got = Tensors.toFloats(out);
            for (int j = 0; j < n; j++) {
                assertClose(dot(x, w, j, k), got[j], 2 * 0.05 * Math.sqrt(k), k, "row " + j);
            }
        } finally {
            cuda.fusions(CudaBackend.fusions("gated,rotary"));
        }
    }

    @Test
    void theSharedMemoryRingGivesTheBitsOfTheRegisterForm() {
        Assumptions.assumeTrue(cuda.gpu().computeCapability() >= 90,
                "the ring's bulk copies need sm_90 or later; this GPU runs the register form only");
        // splits 1, 2 and 4; an odd row count; K with a partial last batch (5000, 2056: 16-byte rows);
        // K = 8192 (x fills 16 KiB beside the ring); then gated, with and without splits
        int[][] shapes = {{64, 4096}, {2048, 2048}, {3072, 2048}, {37, 2056}, {10, 5000}, {2048, 8192},
                {16, 1040}, {512, 2048}, {64, 4096}};
        for (int i = 0; i < shapes.length; i++) {
            int n = shapes[i][0], k = shapes[i][1];
            boolean gated = i >= shapes.length - 2, hasBias = i % 2 == 1;
            SplittableRandom r = new SplittableRandom(1000L * n + k + i);
            float[] x = bf16(r, k, 2), w = bf16(r, n * k, 0.05), bias = bf16(r, n, 1);
            try (Tensor tx = Tensors.fromFloats(cuda, DType.BF16, x, 1, k);
                 Tensor tw = Tensors.fromFloats(cuda, DType.BF16, w, n, k);
                 Tensor tb = Tensors.fromFloats(cuda, DType.BF16, bias, n);
                 Tensor out = cuda.allocate(DType.BF16, 1, n);
                 Tensor act = cuda.allocate(DType.BF16, 1, n / 2)) {
                Runnable ops = () -> {
                    cuda.linear(new Linear(tx, new LinearWeight.Dense(tw), hasBias ? tb : null, out));
                    if (gated) {
                        cuda.gatedActivation(new GatedActivation(ActivationKind.GELU_TANH, out, act));
                    }
                };
                byte[][] forms = new byte[2][];
                byte[][] acts = new byte[2][];
                for (int form = 0; form < 2; form++) {
                    cuda.useGemvRing(form == 1);
                    Tensors.writeFloats(out, new float[n]);
                    ops.run();
                    forms[form] = Tensors.toBytes(out);
                    acts[form] = Tensors.toBytes(act);
                }
                String what = n + "x" + k + " (splits " + LinearKernels.gemvSplits(gated ? n / 2 : (n + 1) / 2, k)
                        + ", bias " + hasBias + ", gated " + gated + ")";
                assertArrayEquals(forms[0], forms[1], what);
                if (gated) {
                    assertArrayEquals(acts[0], acts[1], what + " activation");
                }
                try (var graph = cuda.capture(ops)) { // the ring replayed
                    Tensors.writeFloats(out, new float[n]);
                    graph.replay();
                    assertArrayEquals(forms[0], Tensors.toBytes(out), what + " replayed");
                }
            } finally {
                cuda.useGemvRing(true);
            }
        }
    }
}
