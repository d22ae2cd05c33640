package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Fill;
import org.junit.jupiter.api.Test;

class FillKernelTest {

    private static float[] fillOf(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void fillsFloatsWithCastRounding() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Object[][] cases = {
                {DType.F32, 0.1, 0.1f}, {DType.BF16, 1.00390625, 1f}, {DType.BF16, -3.0, -3f},
                {DType.F16, 70000.0, Float.POSITIVE_INFINITY}, {DType.F16, 0.1, 0.099975586f},
                {DType.F8_E4M3, 1000.0, 448f}, {DType.F8_E4M3, -0.3, -0.3125f}, {DType.F32, Double.NaN, Float.NaN},
                {DType.BF16, Double.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, {DType.F32, 0.0, 0f},
            };
            for (Object[] c : cases) {
                DType dt = (DType) c[0];
                Tensor t = b.allocate(dt, 3, 11);
                b.fill(new Fill(t, (double) c[1]));
                assertArrayEquals(fillOf(33, (float) c[2]), Tensors.toFloats(t), 0f, dt + " " + c[1] + " on " + b.description());
            }
        }
    }

    @Test
    void fillsIntegersByTruncation() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor i32 = b.allocate(DType.I32, 2, 5);
            b.fill(new Fill(i32, -2.7));
            assertArrayEquals(new int[] {-2, -2, -2, -2, -2, -2, -2, -2, -2, -2}, Tensors.toInts(i32));
            Tensor i64 = b.allocate(DType.I64, 3);
            b.fill(new Fill(i64, 5e12 + 0.9));
            assertArrayEquals(new float[] {5e12f, 5e12f, 5e12f}, Tensors.toFloats(i64), 0f);
            Tensor u8 = b.allocate(DType.U8, 4);
            b.fill(new Fill(u8, 200.0));
            assertArrayEquals(new float[] {200, 200, 200, 200}, Tensors.toFloats(u8), 0f);
        }
    }

    @Test
    void fillsOnlyTheViewAndMatchesScalarBytes() {
        int rows = 301, cols = 129;
        Tensor[] parents = new Tensor[2];
        Backend[] bs = {SCALAR, simd(7)};
        for (int k = 0; k < 2; k++) {
            for (double v : new double[] {0.0, -1.5}) {
                Tensor view = strided(bs[k], DType.BF16, new float[rows * cols], rows, cols, 3, 2, 9f);
                bs[k].fill(new Fill(view, v));
                parents[k] = parentOf(view);
                float[] all = Tensors.toFloats(parents[k]);
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols + 5; c++) {
                        float want = c >= 3 && c < 3 + cols ? (float) v : 9f;
                        assertEquals(want, all[r * (cols + 5) + c], "row " + r + " col " + c + " value " + v);
                    }
                }
            }
        }
        assertSameBits(parents[0], parents[1], "scalar vs simd");
    }
}
