package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.SamplingTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ArgmaxKernelTest {
    private static final float NAN = Float.NaN;
    private static final float INF = Float.POSITIVE_INFINITY;

    /** Independent naive argmax in double: NaN beats everything, ties go to the lower index. */
    static int naive(float[] row) {
        int best = -1;
        double bv = 0;
        for (int i = 0; i < row.length; i++) {
            if (Double.isNaN(row[i])) {
                return i;
            }
            if (best < 0 || (double) row[i] > bv) {
                best = i;
                bv = row[i];
            }
        }
        return best;
    }

    private static int[] run(Backend b, DType dtype, float[] values, int rows, int cols, boolean strided) {
        Tensor logits = matrix(b, dtype, values, rows, cols, strided);
        Tensor out = b.allocate(DType.I32, rows);
        b.argmax(new Argmax(logits, out));
        return Tensors.toInts(out);
    }

    @Test
    void handCheckedRows() {
        float[][] rows = {
                {1, 3, 2},            // plain max → 1
                {5, 5, 1},            // tie → lower index 0
                {-1, 7, 7, 7},        // tie later → 1
                {1, NAN, 9, NAN},     // NaN beats 9 → first NaN 1
                {NAN, NAN},           // → 0
                {-INF, -INF, -INF},   // all −∞ → 0
                {-INF, -3, INF, INF}, // +∞ → 2
                {-0f, 0f},            // −0 == +0 → 0
                {0f, -0f, 0f},        // → 0
                {-5},                 // V = 1
        };
        int[] expect = {1, 0, 1, 1, 0, 0, 2, 0, 0, 0};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (int r = 0; r < rows.length; r++) {
                assertEquals(expect[r], naive(rows[r]), "naive row " + r);
                for (CpuBackend b : new CpuBackend[] {sc, si}) {
                    assertEquals(expect[r], run(b, DType.F32, rows[r], 1, rows[r].length, r % 2 == 1)[0],
                            b.description() + " row " + r);
                }
            }
        }
    }

    @Test
    void nanAndTiesInsideAndAcrossVectorLanes() {
        // positions around 8/16-lane boundaries and in the scalar tail
        int v = 37;
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (int pos = 0; pos < v; pos++) {
                float[] x = new float[v];
                java.util.Arrays.fill(x, -1f);
                x[pos] = 4f;
                x[v - 1 - (pos % 5)] = 4f; // a tie somewhere at or after... or before pos
                int want = naive(x);
                assertEquals(want, run(sc, DType.F32, x, 1, v, false)[0], "scalar tie pos " + pos);
                assertEquals(want, run(si, DType.F32, x, 1, v, false)[0], "simd tie pos " + pos);
                float[] y = x.clone();
                y[pos] = NAN;
                assertEquals(pos, naive(y));
                assertEquals(pos, run(sc, DType.F32, y, 1, v, true)[0], "scalar NaN pos " + pos);
                assertEquals(pos, run(si, DType.F32, y, 1, v, true)[0], "simd NaN pos " + pos);
                assertEquals(pos, run(si, DType.BF16, y, 1, v, true)[0], "simd bf16 NaN pos " + pos);
            }
        }
    }

    @Test
    void halfTypesAreWidenedExactly() {
        // 1.0 and 1.0009765625 are distinct in f16 but equal in bf16 → the winner differs
        float[] x = {1.0f, 1.0009765625f, 0.5f};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                assertEquals(1, run(b, DType.F32, x, 1, 3, false)[0]);
                assertEquals(1, run(b, DType.F16, x, 1, 3, true)[0]);
                assertEquals(0, run(b, DType.BF16, x, 1, 3, true)[0]);
            }
        }
    }

    @Test
    void randomRowsMatchNaiveInEveryFormAndDtype() {
        SplittableRandom r = new SplittableRandom(7);
        int[] widths = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 257, 769, 4099};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (int v : widths) {
                for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                    int rows = 5;
                    // few distinct values so ties are common after bf16 rounding
                    float[] x = uniform(r, rows * v, -3, 3);
                    if (v % 2 == 1) {
                        for (int i = 0; i < x.length; i++) {
                            x[i] = Math.round(x[i] * 2) / 2f;
                        }
                    }
                    float[] stored = rounded(dt, x);
                    int[] want = new int[rows];
                    for (int b = 0; b < rows; b++) {
                        want[b] = naive(java.util.Arrays.copyOfRange(stored, b * v, (b + 1) * v));
                    }
                    String what = "V=" + v + " " + dt;
                    assertArrayEquals(want, run(sc, dt, x, rows, v, true), "scalar " + what);
                    assertArrayEquals(want, run(si, dt, x, rows, v, true), "simd " + what);
                    assertArrayEquals(want, run(si, dt, x, rows, v, false), "simd contiguous " + what);
                }
            }
        }
    }

    @Test
    void identicalForOneTwoAndSevenThreads() {
        SplittableRandom r = new SplittableRandom(11);
        int rows = 23;
        int v = 1031;
        float[] x = uniform(r, rows * v, -10, 10);
        int[] first = null;
        for (int threads : new int[] {1, 2, 7}) {
            for (boolean sc : new boolean[] {true, false}) {
                try (CpuBackend b = sc ? scalar(threads) : simd(threads)) {
                    int[] ids = run(b, DType.F32, x, rows, v, true);
                    if (first == null) {
                        first = ids;
                    }
                    assertArrayEquals(first, ids, "threads=" + threads + " scalar=" + sc);
                }
            }
        }
    }

    @Test
    void supportsFloatLogitsWithColumns() {
        try (CpuBackend b = simd()) {
            assertTrue(b.supports(new Argmax(b.allocate(DType.BF16, 2, 3), b.allocate(DType.I32, 2))));
            assertFalse(b.supports(new Argmax(b.allocate(DType.I32, 2, 3), b.allocate(DType.I32, 2))));
            assertFalse(b.supports(new Argmax(b.allocate(DType.F32, 2, 0), b.allocate(DType.I32, 2))));
            assertTrue(b.supports(new Argmax(b.allocate(DType.F32, 0, 0), b.allocate(DType.I32, 0))));
        }
    }
}
