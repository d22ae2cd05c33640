package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.SamplingTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.TopLogprobs;
import dev.jvllm.cpu.CpuBackend;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopLogprobsKernelTest {

    /** ids, logprobs [B·n] and token logprobs [B] of one call. */
    record Result(int[] ids, float[] lps, float[] tokenLp) {
    }

    private static Result run(Backend b, float[] logits, int rows, int v, int n, int[] tokens) {
        Tensor l = matrix(b, DType.F32, logits, rows, v, true);
        Tensor ids = b.allocate(DType.I32, rows, n + 2).narrowLast(1, n);
        Tensor lps = b.allocate(DType.F32, rows, n + 1).narrowLast(1, n);
        Tensor tok = tokens == null ? null : Tensors.fromInts(b, tokens, rows);
        Tensor tokLp = tokens == null ? null : b.allocate(DType.F32, rows);
        b.topLogprobs(new TopLogprobs(l, n, ids, lps, tok, tokLp));
        return new Result(Tensors.toInts(ids), Tensors.toFloats(lps), tokLp == null ? null : Tensors.toFloats(tokLp));
    }

    /** Naive log-softmax in double: log(exp(x) / Σ exp(x)) written the textbook way. */
    static double[] naiveLogSoftmax(float[] row) {
        double m = Double.NEGATIVE_INFINITY;
        for (float x : row) {
            m = Math.max(m, x);
        }
        double s = 0;
        for (float x : row) {
            s += Math.exp(x - m);
        }
        double[] lp = new double[row.length];
        for (int i = 0; i < row.length; i++) {
            lp[i] = x(row, i) - m - Math.log(s);
        }
        return lp;
    }

    private static double x(float[] row, int i) {
        return row[i];
    }

    /** Naive ranking: stable sort of ids by value descending (stable → lower id first on ties). */
    static int[] naiveTop(float[] row, int n) {
        return IntStream.range(0, row.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -row[i]))
                .limit(n).mapToInt(Integer::intValue).toArray();
    }

    @Test
    void handCheckedRow() {
        // logits ln(1), ln(2), ln(3), ln(4): p = 0.1, 0.2, 0.3, 0.4
        float[] x = {(float) Math.log(1), (float) Math.log(2), (float) Math.log(3), (float) Math.log(4)};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                Result r = run(b, x, 1, 4, 3, new int[] {0});
                assertArrayEquals(new int[] {3, 2, 1}, r.ids());
                assertEquals(Math.log(0.4), r.lps()[0], 1e-6);
                assertEquals(Math.log(0.3), r.lps()[1], 1e-6);
                assertEquals(Math.log(0.2), r.lps()[2], 1e-6);
                assertEquals(Math.log(0.1), r.tokenLp()[0], 1e-6);
            }
        }
    }

    @Test
    void tiesGoToTheLowerIdAndNegativeInfinityIsMinusInfinity() {
        float ninf = Float.NEGATIVE_INFINITY;
        float[] x = {1, 2, 2, ninf, 2, 1, ninf, 0};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                Result r = run(b, x, 1, 8, 8, new int[] {3});
                assertArrayEquals(new int[] {1, 2, 4, 0, 5, 7, 3, 6}, r.ids(), b.description());
                assertEquals(r.lps()[0], r.lps()[1]);
                assertEquals(r.lps()[1], r.lps()[2]);
                assertEquals(ninf, r.lps()[6]);
                assertEquals(ninf, r.tokenLp()[0]);
                assertEquals(Math.log(Math.exp(2) / (3 * Math.exp(2) + 2 * Math.exp(1) + 1)), r.lps()[0], 1e-6);
            }
        }
    }

    @Test
    void randomRowsMatchNaiveLogSoftmax() {
        SplittableRandom rnd = new SplittableRandom(3);
        int[][] shapes = {{1, 1, 1}, {3, 7, 0}, {2, 8, 8}, {4, 9, 5}, {3, 17, 2}, {2, 769, 20}, {2, 4099, 1}, {1, 151_936, 20}};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (int[] s : shapes) {
                int rows = s[0], v = s[1], n = s[2];
                float[] x = uniform(rnd, rows * v, -20, 20);
                int[] tokens = new int[rows];
                for (int b = 0; b < rows; b++) {
                    tokens[b] = rnd.nextInt(v);
                }
                Result rs = run(sc, x, rows, v, n, tokens);
                Result ri = run(si, x, rows, v, n, tokens);
                assertArrayEquals(rs.ids(), ri.ids(), "ids simd vs scalar, V=" + v);
                for (int b = 0; b < rows; b++) {
                    float[] row = Arrays.copyOfRange(x, b * v, (b + 1) * v);
                    double[] lp = naiveLogSoftmax(row);
                    int[] want = naiveTop(row, n);
                    assertArrayEquals(want, Arrays.copyOfRange(rs.ids(), b * n, (b + 1) * n), "ids V=" + v);
                    for (int j = 0; j < n; j++) {
                        // f32 result of an f64 computation: half an ulp of |lp| plus the f32 step l − m
                        double tol = 2e-6 * Math.max(1, Math.abs(lp[want[j]]));
                        assertEquals(lp[want[j]], rs.lps()[b * n + j], tol, "scalar lp V=" + v);
                        assertEquals(lp[want[j]], ri.lps()[b * n + j], tol, "simd lp V=" + v);
                    }
                    double tol = 2e-6 * Math.max(1, Math.abs(lp[tokens[b]]));
                    assertEquals(lp[tokens[b]], rs.tokenLp()[b], tol);
                    assertEquals(lp[tokens[b]], ri.tokenLp()[b], tol);
                }
            }
        }
    }

    @Test
    void noTokenLogprobAndFullVocabulary() {
        float[] x = {0.5f, -1, 3, 3, 2};
        try (CpuBackend b = simd()) {
            Result r = run(b, x, 1, 5, 5, null);
            assertArrayEquals(new int[] {2, 3, 4, 0, 1}, r.ids());
            assertNull(r.tokenLp());
            double total = 0;
            for (float lp : r.lps()) {
                total += Math.exp(lp);
            }
            assertEquals(1.0, total, 1e-6);
        }
    }

    @Test
    void tokenOutsideVocabularyIsRejected() {
        try (CpuBackend b = simd()) {
            var e = assertThrows(IllegalArgumentException.class, () -> run(b, new float[] {1, 2}, 1, 2, 1, new int[] {-1}));
            assertTrue(e.getMessage().contains("tokenIds[0] = -1"), e.getMessage());
        }
    }

    @Test
    void identicalForOneTwoAndSevenThreads() {
        SplittableRandom rnd = new SplittableRandom(5);
        int rows = 19, v = 2053, n = 7;
        float[] x = uniform(rnd, rows * v, -8, 8);
        int[] tokens = IntStream.range(0, rows).map(i -> (i * 97) % v).toArray();
        for (boolean sc : new boolean[] {true, false}) {
            Result first = null;
            for (int threads : new int[] {1, 2, 7}) {
                try (CpuBackend b = sc ? scalar(threads) : simd(threads)) {
                    Result r = run(b, x, rows, v, n, tokens);
                    if (first == null) {
                        first = r;
                    }
                    assertArrayEquals(first.ids(), r.ids());
                    assertArrayEquals(first.lps(), r.lps(), 0f, "bit-identical, threads=" + threads);
                    assertArrayEquals(first.tokenLp(), r.tokenLp(), 0f);
                }
            }
        }
    }
}
