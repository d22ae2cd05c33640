package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.SamplingTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PenaltiesKernelTest {

    private static float[] run(Backend b, float[] logits, int rows, int v, int[] prompt, int lp, int[] output, int lo,
            float[] rep, float[] pres, float[] freq) {
        Tensor l = matrix(b, DType.F32, logits, rows, v, true);
        Tensor pt = Tensors.fromInts(b, prompt, rows, lp);
        Tensor ot = Tensors.fromInts(b, output, rows, lo);
        b.penalties(new Penalties(l, pt, ot, Tensors.fromFloats(b, DType.F32, rep, rows),
                Tensors.fromFloats(b, DType.F32, pres, rows), Tensors.fromFloats(b, DType.F32, freq, rows)));
        return Tensors.toFloats(l);
    }

    /** vLLM's apply_penalties written with dense masks and bin counts, in double, rounded at each f32 step. */
    static float[] naive(float[] logits, int rows, int v, int[] prompt, int lp, int[] output, int lo, float[] rep,
            float[] pres, float[] freq) {
        float[] out = logits.clone();
        for (int b = 0; b < rows; b++) {
            int[] counts = new int[v];
            boolean[] inPrompt = new boolean[v];
            for (int j = 0; j < lo; j++) {
                int t = output[b * lo + j];
                if (t != -1) {
                    counts[t]++;
                }
            }
            for (int j = 0; j < lp; j++) {
                int t = prompt[b * lp + j];
                if (t != -1) {
                    inPrompt[t] = true;
                }
            }
            for (int t = 0; t < v; t++) {
                double x = out[b * v + t];
                double r = inPrompt[t] || counts[t] > 0 ? rep[b] : 1.0;
                x = (float) (x > 0 ? x / r : x * r);
                x = (float) (x - (float) (freq[b] * (double) counts[t]));
                x = (float) (x - pres[b] * (counts[t] > 0 ? 1.0 : 0.0));
                out[b * v + t] = (float) x;
            }
        }
        return out;
    }

    @Test
    void handCheckedRow() {
        // V = 6; prompt {1, 2}; output {2, 3, 3, -1}; r = 2, freq 0.5, presence 1
        float[] l = {1, 4, -4, 3, 5, -1};
        int[] prompt = {1, 2};
        int[] output = {2, 3, 3, -1};
        float[] want = {
                1,                      // untouched
                2,                      // prompt only, positive: 4 / 2
                -8 - 0.5f - 1,          // prompt and output once, negative: −4·2, −0.5·1, −1
                1.5f - 1 - 1,           // output twice: 3 / 2, −0.5·2, −1
                5,                      // untouched
                -1,                     // untouched
        };
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                float[] got = run(b, l, 1, 6, prompt, 2, output, 4, new float[] {2}, new float[] {1}, new float[] {0.5f});
                assertArrayEquals(want, got, 0f, b.description());
            }
        }
        assertArrayEquals(want, naive(l, 1, 6, prompt, 2, output, 4, new float[] {2}, new float[] {1},
                new float[] {0.5f}), 0f);
    }

    @Test
    void neutralPenaltiesLeaveLogitsBitIdentical() {
        float[] l = {1.25f, -3.5f, 0f, 7f};
        try (CpuBackend b = simd()) {
            float[] got = run(b, l, 1, 4, new int[] {0, 1}, 2, new int[] {2, 3}, 2, new float[] {1}, new float[] {0},
                    new float[] {0});
            assertArrayEquals(l, got, 0f);
        }
    }

    @Test
    void repetitionBelowOneRaisesAndNegativePenaltiesReward() {
        float[] l = {2, -2, 1};
        try (CpuBackend b = simd()) {
            float[] got = run(b, l, 1, 3, new int[] {0, 1}, 2, new int[] {2}, 1, new float[] {0.5f},
                    new float[] {-1f}, new float[] {-0.25f});
            assertArrayEquals(new float[] {4, -1, 2 + 0.25f + 1}, got, 0f); // token 2: 1 / 0.5, +0.25, +1
        }
    }

    @Test
    void randomBatchesMatchNaive() {
        SplittableRandom r = new SplittableRandom(17);
        int[][] shapes = {{1, 1, 1, 1}, {3, 7, 0, 5}, {4, 33, 6, 0}, {5, 257, 13, 9}, {2, 769, 40, 64}};
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (int[] s : shapes) {
                int rows = s[0], v = s[1], lp = s[2], lo = s[3];
                float[] logits = uniform(r, rows * v, -5, 5);
                int[] prompt = tokens(r, rows * lp, v);
                int[] output = tokens(r, rows * lo, v);
                float[] rep = uniform(r, rows, 0.5, 2);
                float[] pres = uniform(r, rows, -1, 1);
                float[] freq = uniform(r, rows, -1, 1);
                float[] want = naive(logits, rows, v, prompt, lp, output, lo, rep, pres, freq);
                String what = "B=" + rows + " V=" + v + " Lp=" + lp + " Lo=" + lo;
                assertArrayEquals(want, run(sc, logits, rows, v, prompt, lp, output, lo, rep, pres, freq), 0f, what);
                assertArrayEquals(want, run(si, logits, rows, v, prompt, lp, output, lo, rep, pres, freq), 0f, what);
            }
        }
    }

    /** Token ids with repeats (a small hot set) and about one in five −1 paddings. */
    private static int[] tokens(SplittableRandom r, int n, int v) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(5) == 0 ? -1 : r.nextBoolean() ? r.nextInt(Math.min(v, 4)) : r.nextInt(v);
        }
        return t;
    }

    @Test
    void identicalForOneTwoAndSevenThreads() {
        SplittableRandom r = new SplittableRandom(23);
        int rows = 13, v = 509, lp = 11, lo = 17;
        float[] logits = uniform(r, rows * v, -5, 5);
        int[] prompt = tokens(r, rows * lp, v);
        int[] output = tokens(r, rows * lo, v);
        float[] rep = uniform(r, rows, 0.5, 2);
        float[] pres = uniform(r, rows, -1, 1);
        float[] freq = uniform(r, rows, -1, 1);
        float[] first = null;
        for (int threads : new int[] {1, 2, 7}) {
            try (CpuBackend b = simd(threads)) {
                float[] got = run(b, logits, rows, v, prompt, lp, output, lo, rep, pres, freq);
                if (first == null) {
                    first = got;
                }
                assertArrayEquals(first, got, 0f, "threads=" + threads);
            }
        }
    }

    @Test
    void tokenOutsideVocabularyIsRejectedBeforeAnyChange() {
        try (CpuBackend b = simd()) {
            Tensor l = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4}, 2, 2);
            Tensor ones = Tensors.fromFloats(b, DType.F32, new float[] {2, 2}, 2);
            Penalties p = new Penalties(l, Tensors.fromInts(b, new int[] {0, 1}, 2, 1),
                    Tensors.fromInts(b, new int[] {-1, 2}, 2, 1), ones, ones, ones);
            var e = assertThrows(IllegalArgumentException.class, () -> b.penalties(p));
            assertTrue(e.getMessage().contains("outputTokens[1, 0] = 2"), e.getMessage());
            assertArrayEquals(new float[] {1, 2, 3, 4}, Tensors.toFloats(l), 0f);
        }
    }
}
