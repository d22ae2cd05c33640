package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MoeRoutingKernelTest {
    static final Backend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    static final Backend SIMD = CpuBackend.create();

    static MoeRouting args(Backend b, DType dt, float[] logits, int t, int e, int k, boolean renorm) {
        return new MoeRouting(Tensors.fromFloats(b, dt, logits, t, e), k, renorm, b.allocate(DType.F32, t, k),
                b.allocate(DType.I32, t, k));
    }

    /** softmax in f64 of one row. */
    static double[] softmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(x[off + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void picksTheLargestInDescendingOrder() {
        // logits [1, 2, 3, 0]: p ∝ [e, e², e³, 1]; top-2 = experts 2, 1
        float[] logits = {1, 2, 3, 0};
        double z = Math.E + Math.exp(2) + Math.exp(3) + 1;
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            MoeRouting a = args(b, DType.F32, logits, 1, 4, 2, false);
            b.moeRouting(a);
            assertArrayEquals(new int[] {2, 1}, Tensors.toInts(a.topkIds()));
            float[] w = Tensors.toFloats(a.topkWeights());
            assertEquals(Math.exp(3) / z, w[0], 1e-6);
            assertEquals(Math.exp(2) / z, w[1], 1e-6);
            MoeRouting r = args(b, DType.F32, logits, 1, 4, 2, true);
            b.moeRouting(r);
            float[] rw = Tensors.toFloats(r.topkWeights());
            assertEquals(Math.exp(3) / (Math.exp(3) + Math.exp(2)), rw[0], 1e-6);
            assertEquals(Math.exp(2) / (Math.exp(3) + Math.exp(2)), rw[1], 1e-6);
        }
    }

    @Test
    void tiesGoToTheLowerExpertId() {
        float[] logits = {0.5f, 2, 0.5f, 2, 2, -1, 0.5f, 0.5f};
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            MoeRouting a = args(b, DType.BF16, logits, 1, 8, 5, true);
            b.moeRouting(a);
            assertArrayEquals(new int[] {1, 3, 4, 0, 2}, Tensors.toInts(a.topkIds()));
        }
    }

    @Test
    void matchesNaiveDoubleAndSimdEqualsScalar() {
        SplittableRandom r = new SplittableRandom(5);
        for (int[] s : new int[][] {{1, 1, 1}, {7, 8, 2}, {33, 64, 8}, {5, 257, 6}, {40, 3, 3}}) {
            int t = s[0], e = s[1], k = s[2];
            float[] logits = new float[t * e];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) r.nextDouble(-4, 4);
            }
            for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                for (boolean renorm : new boolean[] {false, true}) {
                    MoeRouting a = args(SCALAR, dt, logits, t, e, k, renorm);
                    SCALAR.moeRouting(a);
                    MoeRouting c = args(SIMD, dt, logits, t, e, k, renorm);
                    SIMD.moeRouting(c);
                    assertArrayEquals(Tensors.toBytes(a.topkIds()), Tensors.toBytes(c.topkIds()));
                    assertArrayEquals(Tensors.toBytes(a.topkWeights()), Tensors.toBytes(c.topkWeights()));
                    float[] rounded = Tensors.toFloats(a.routerLogits());
                    int[] ids = Tensors.toInts(a.topkIds());
                    float[] w = Tensors.toFloats(a.topkWeights());
                    for (int ti = 0; ti < t; ti++) {
                        double[] p = softmax(rounded, ti * e, e);
                        Integer[] order = new Integer[e];
                        for (int i = 0; i < e; i++) {
                            order[i] = i;
                        }
                        java.util.Arrays.sort(order, (x, y) -> p[x] != p[y] ? Double.compare(p[y], p[x]) : x - y);
                        double chosen = 0;
                        for (int j = 0; j < k; j++) {
                            chosen += p[order[j]];
                        }
                        for (int j = 0; j < k; j++) {
                            assertEquals(order[j], ids[ti * k + j], "t=" + ti + " j=" + j);
                            double want = renorm ? p[order[j]] / chosen : p[order[j]];
                            assertEquals(want, w[ti * k + j], 1e-6 * Math.max(1, want));
                        }
                    }
                }
            }
        }
    }
}
