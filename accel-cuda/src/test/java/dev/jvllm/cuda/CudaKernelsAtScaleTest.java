package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.api.ops.TopLogprobs;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The MoE, sampling and quantized-linear kernels against the CPU reference on a real device
 * (skipped without one), where the conformance suite's deliberately small cases do not reach:
 * MoE token chunks and 64-row expert tiles, more than 32 routing picks, a real vocabulary, top-n
 * beyond the shared-memory sort; and the bad input these ops report (nothing written).
 */
class CudaKernelsAtScaleTest extends CudaVsCpuTest {

    private static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(lo, hi);
        }
        return v;
    }

    /** Builds the op on both backends, runs it, and returns its outputs: [0] the CPU's, [1] the GPU's. */
    private List<float[]>[] runBoth(Function<Backend, OpArgs> build) {
        @SuppressWarnings("unchecked")
        List<float[]>[] out = new List[2];
        Backend[] backends = {cpu, cuda};
        for (int i = 0; i < 2; i++) {
            OpArgs args = build.apply(backends[i]);
            backends[i].run(args);
            out[i] = args.outputs().stream().map(t -> t.dtype() == DType.I32 ? ints(t) : Tensors.toFloats(t)).toList();
        }
        return out;
    }

    private static float[] ints(Tensor t) {
        int[] v = Tensors.toInts(t);
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = v[i];
        }
        return f;
    }

    private static double nmse(float[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (double) (got[i] - ref[i]) * (got[i] - ref[i]);
            den += (double) ref[i] * ref[i];
        }
        return num / Math.max(den, 1e-30);
    }

    @Test
    void moeExpertsOverSeveralTokenChunksAndWideTiles() {
        int t = MoeKernels.TOKEN_CHUNK + 77, h = 96, inter = 40, e = 4, k = 2;
        SplittableRandom r = new SplittableRandom(11);
        float[] x = uniform(r, t * h, -1, 1), w13 = uniform(r, e * 2 * inter * h, -0.2, 0.2);
        float[] w2 = uniform(r, e * h * inter, -0.3, 0.3), weights = uniform(r, t * k, 0.05, 1);
        int[] ids = new int[t * k];
        for (int i = 0; i < t; i++) {
            ids[i * k] = r.nextInt(8) == 0 ? -1 : r.nextInt(e); // some picks belong to another rank
            ids[i * k + 1] = (Math.max(ids[i * k], 0) + 1 + r.nextInt(e - 1)) % e;
        }
        List<float[]>[] out = runBoth(b -> new MoeExperts(Tensors.fromFloats(b, DType.BF16, x, t, h),
                Tensors.fromFloats(b, DType.BF16, w13, e, 2 * inter, h), Tensors.fromFloats(b, DType.BF16, w2, e, h, inter),
                Tensors.fromFloats(b, DType.F32, weights, t, k), Tensors.fromInts(b, ids, t, k), ActivationKind.SILU,
                b.allocate(DType.F32, t, h)));
        double err = nmse(out[0].get(0), out[1].get(0));
        assertTrue(err < 3e-6, "moe_experts over " + t + " tokens: NMSE " + err);
    }

    @Test
    void moeRoutingWithMoreThan32Picks() {
        int t = 5, e = 300, k = 40;
        float[] logits = uniform(new SplittableRandom(12), t * e, -4, 4);
        List<float[]>[] out = runBoth(b -> new MoeRouting(Tensors.fromFloats(b, DType.F32, logits, t, e), k, true,
                b.allocate(DType.F32, t, k), b.allocate(DType.I32, t, k)));
        assertArrayEquals(out[0].get(1), out[1].get(1), "ids");
        float[] want = out[0].get(0), got = out[1].get(0);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-6 + 1e-5 * Math.abs(want[i]), "weight " + i);
        }
    }

    @Test
    void sampleOverARealVocabularyDrawsTheReferenceTokens() {
        int rows = 6, v = 151_936;
        float[] logits = uniform(new SplittableRandom(13), rows * v, -8, 8);
        float[] temperature = {0.7f, 1f, 1.3f, 0.5f, 0f, 0.9f};
        int[] topK = {0, 50, 0, 1000, 0, 20};
        float[] topP = {1f, 1f, 0.9f, 0.8f, 1f, 0.95f};
        float[] minP = {0f, 0f, 0f, 0.05f, 0f, 0.02f};
        long[] seeds = {1, -7, 42, 1L << 40, 5, 99};
        long[] offsets = {0, 3, 17, 100_000, 2, 7};
        Function<Backend, OpArgs> build = b -> new Sample(Tensors.fromFloats(b, DType.F32, logits, rows, v),
                Tensors.fromFloats(b, DType.F32, temperature, rows), Tensors.fromInts(b, topK, rows),
                Tensors.fromFloats(b, DType.F32, topP, rows), Tensors.fromFloats(b, DType.F32, minP, rows),
                Tensors.fromLongs(b, seeds, rows), Tensors.fromLongs(b, offsets, rows), b.allocate(DType.I32, rows));
        List<float[]>[] out = runBoth(build);
        assertArrayEquals(out[0].get(0), out[1].get(0), "sampled ids");
        assertArrayEquals(out[1].get(0), runBoth(build)[1].get(0), "the same draw again");
    }

    @Test
    void topLogprobsBeyondTheSharedMemorySort() {
        int rows = 2, v = 5000, n = SamplingKernels.SHARED_KEYS + 500;
        SplittableRandom r = new SplittableRandom(14);
        float[] logits = new float[rows * v];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = r.nextInt(-40, 40) / 4f; // many exact ties: the order falls back to ids
        }
        int[] tokens = {4999, 0};
        List<float[]>[] out = runBoth(b -> new TopLogprobs(Tensors.fromFloats(b, DType.F32, logits, rows, v), n,
                b.allocate(DType.I32, rows, n), b.allocate(DType.F32, rows, n), Tensors.fromInts(b, tokens, rows),
                b.allocate(DType.F32, rows)));
        assertArrayEquals(out[0].get(0), out[1].get(0), "ids");
        for (int o = 1; o < 3; o++) {
            float[] want = out[0].get(o), got = out[1].get(o);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5 + 1e-6 * Math.abs(want[i]), "output " + o + " element " + i);
            }
        }
    }

    @Test
    void badTokenIdsAreReportedAndChangeNothing() {
        float[] logits = uniform(new SplittableRandom(15), 2 * 10, -3, 3);
        try (Tensor l = Tensors.fromFloats(cuda, DType.F32, logits, 2, 10);
                Tensor prompt = Tensors.fromInts(cuda, new int[] {1, -1, 3, 10}, 2, 2);
                Tensor output = Tensors.fromInts(cuda, new int[] {2, 2}, 2, 1);
                Tensor rep = Tensors.fromFloats(cuda, DType.F32, new float[] {1.5f, 1.5f}, 2);
                Tensor zero = cuda.allocate(DType.F32, 2)) {
            cuda.penalties(new Penalties(l, prompt, output, rep, zero, zero));
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(ex.getMessage().contains("promptTokens[1, 1] = 10"), ex.getMessage());
            assertArrayEquals(logits, Tensors.toFloats(l), "no logit changed");
        }
        try (Tensor l = Tensors.fromFloats(cuda, DType.F32, logits, 2, 10); Tensor ids = cuda.allocate(DType.I32, 2, 3);
                Tensor lps = cuda.allocate(DType.F32, 2, 3); Tensor tok = Tensors.fromInts(cuda, new int[] {4, -1}, 2);
                Tensor tokLp = cuda.allocate(DType.F32, 2)) {
            cuda.topLogprobs(new TopLogprobs(l, 3, ids, lps, tok, tokLp));
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(ex.getMessage().contains("tokenIds[1] = -1"), ex.getMessage());
            assertArrayEquals(new float[6], Tensors.toFloats(lps), "nothing written");
        }
    }

    @Test
    void anInt4GroupIndexOutsideTheScalesIsReported() {
        int n = 3, k = 16;
        int[] gIdx = new int[k];
        gIdx[5] = 2; // scales have 2 groups
        try (Tensor x = cuda.allocate(DType.F32, 1, k); Tensor q = cuda.allocate(DType.I32, n, k / 8);
                Tensor scales = cuda.allocate(DType.F32, n, 2); Tensor g = Tensors.fromInts(cuda, gIdx, k);
                Tensor out = cuda.allocate(DType.F32, 1, n)) {
            cuda.linear(new Linear(x, new LinearWeight.Int4(q, scales, null, g, 8), null, out));
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(ex.getMessage().contains("g_idx[5] = 2"), ex.getMessage());
        }
    }
}
