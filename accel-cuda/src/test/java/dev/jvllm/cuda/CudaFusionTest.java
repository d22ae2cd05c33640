package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.OpGraph;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.Rotary;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.RmsNorm;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The batch-1 fusions of {@link CudaBackend}'s held ops (linear.cu {@code linear_gemv_*}): a norm
 * folded into the GEMV after it, and a gated activation computed as that GEMV's epilogue. The
 * linear's output, the norm's outputs (normalized row, rounded residual sum) and the activation's
 * output are bit for bit those of the ops run apart, for every hidden size the fold takes, both norm
 * forms and weight dtypes, with and without residual, bias, norm or activation, in place, in a
 * captured graph replayed several times (the ticket word goes back to 0), and when the next op is
 * not the one held for. Likewise a rotary and the KV-cache write of its k as one launch: q, k and
 * both caches as apart, at any batch, with skipped and shared slots, partial rotary, a converting
 * cache, and the same errors for a bad position or slot. Skipped without a device.
 */
class CudaFusionTest extends CudaDeviceTest {
    @BeforeAll
    void fuseAll() {
        cuda.fusions(CudaBackend.fusions("all")); // whatever the default
    }

    /** One norm + GEMV problem: host inputs and the device tensors both runs use. */
    private final class Case implements AutoCloseable {
        final int hidden, n;
        final boolean residual, gemma, inPlace, norm;
        final ActivationKind fn;
        final float[] x, res, nw, w, bias;
        final Tensor tx, tres, tnw, tw, tbias, tnorm, tout, tact;
        final List<Tensor> all = new ArrayList<>();

        Case(int hidden, int n, boolean residual, boolean gemma, DType normWeight, boolean hasBias, DType outType,
                boolean inPlace, long seed) {
            this(hidden, n, true, residual, gemma, normWeight, hasBias, outType, inPlace, null, seed);
        }

        Case(int hidden, int n, boolean norm, boolean residual, boolean gemma, DType normWeight, boolean hasBias,
                DType outType, boolean inPlace, ActivationKind fn, long seed) {
            this.norm = norm;
            this.fn = fn;
            this.hidden = hidden;
            this.n = n;
            this.residual = residual;
            this.gemma = gemma;
            this.inPlace = inPlace;
            SplittableRandom r = new SplittableRandom(seed);
            x = random(r, hidden, 3);
            res = random(r, hidden, 3);
            nw = random(r, hidden, gemma ? 0.5 : 1.5);
            w = random(r, n * hidden, 0.05);
            bias = hasBias ? random(r, n, 1) : null;
            tx = keep(cuda.allocate(DType.BF16, 1, hidden));
            tres = residual ? keep(cuda.allocate(DType.BF16, 1, hidden)) : null;
            tnw = keep(Tensors.fromFloats(cuda, normWeight, nw, hidden));
            tw = keep(Tensors.fromFloats(cuda, DType.BF16, w, n, hidden));
            tbias = hasBias ? keep(Tensors.fromFloats(cuda, DType.BF16, bias, n)) : null;
            tnorm = inPlace ? tx : keep(cuda.allocate(DType.BF16, 1, hidden));
            tout = keep(cuda.allocate(outType, 1, n));
            tact = fn != null ? keep(cuda.allocate(DType.BF16, 1, n / 2)) : null;
        }

        private Tensor keep(Tensor t) {
            all.add(t);
            return t;
        }

        void writeInputs(float shift) {
            float[] xs = x.clone();
            for (int i = 0; i < xs.length; i++) {
                xs[i] += shift;
            }
            Tensors.writeFloats(tx, xs);
            if (residual) {
                Tensors.writeFloats(tres, res);
            }
        }

        /** The ops, with {@code between} after each (nothing: they fuse; a synchronize: they run apart). */
        void ops(Runnable between) {
            if (norm) {
                cuda.rmsNorm(new RmsNorm(tx, tnw, tres, tnorm, tres, 1e-5f, gemma));
                between.run();
            }
            cuda.linear(new Linear(norm ? tnorm : tx, new LinearWeight.Dense(tw), tbias, tout));
            if (fn != null) {
                between.run();
                cuda.gatedActivation(new GatedActivation(fn, tout, tact));
            }
        }

        void ops() {
            ops(() -> { });
        }

        /** [linear out, normalized row, residual sum, activation] */
        float[][] outputs() {
            return new float[][] {Tensors.toFloats(tout), Tensors.toFloats(tnorm),
                    residual ? Tensors.toFloats(tres) : new float[0], fn != null ? Tensors.toFloats(tact) : new float[0]};
        }

        /** The ops apart: a synchronize between them releases each held op on its own. */
        float[][] apart(float shift) {
            writeInputs(shift);
            ops(cuda::synchronize);
            return outputs();
        }

        @Override
        public void close() {
            all.forEach(Tensor::close);
        }

        @Override
        public String toString() {
            return "hidden " + hidden + ", n " + n + ", norm " + norm + ", residual " + residual + ", gemma " + gemma
                    + ", in place " + inPlace + ", activation " + fn;
        }
    }

    private static float[] random(SplittableRandom r, int count, double scale) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) r.nextDouble(-scale, scale);
        }
        return v;
    }

    private static void assertBitsEqual(float[][] want, float[][] got, Object what) {
        String[] names = {"linear out", "norm out", "residual", "activation"};
        for (int i = 0; i < want.length; i++) {
            assertArrayEquals(want[i], got[i], names[i] + ": " + what);
        }
    }

    @Test
    void foldedGivesTheBitsOfTheOpsApart() {
        Object[][] cases = {
            // hidden, n, residual, gemma, norm weight, bias, out dtype, in place
            {256, 37, true, false, DType.BF16, false, DType.BF16, false},
            {2048, 3072, true, false, DType.BF16, false, DType.BF16, false},
            {2048, 2048, false, false, DType.BF16, false, DType.BF16, false},
            {2048, 333, true, true, DType.F32, true, DType.F32, false},
            {4096, 100, true, false, DType.F32, false, DType.BF16, true},
            {8192, 50, true, true, DType.BF16, true, DType.BF16, false},
            {8192, 17, false, false, DType.BF16, false, DType.F32, true},
            {768, 1000, true, false, DType.BF16, true, DType.BF16, false},
        };
        long seed = 1;
        for (Object[] c : cases) {
            try (Case k = new Case((int) c[0], (int) c[1], (boolean) c[2], (boolean) c[3], (DType) c[4],
                    (boolean) c[5], (DType) c[6], (boolean) c[7], seed++)) {
                float[][] want = k.apart(0f);
                long before = cuda.foldedNorms();
                k.writeInputs(0f);
                k.ops();
                float[][] got = k.outputs();
                assertEquals(before + 1, cuda.foldedNorms(), "the norm did not fold: " + k);
                assertBitsEqual(want, got, k);
                // again: the first launch's last block set the ticket back
                k.writeInputs(0f);
                k.ops();
                assertBitsEqual(want, k.outputs(), "second launch, " + k);
            }
        }
    }

    @Test
    void foldedInsideAGraphReplays() {
        try (Case k = new Case(2048, 1024, true, false, DType.BF16, false, DType.BF16, false, 99)) {
            k.writeInputs(0f);
            long before = cuda.foldedNorms();
            try (OpGraph g = cuda.capture(k::ops)) {
                assertEquals(before + 1, cuda.foldedNorms(), "the norm did not fold in the capture");
                for (int rep = 0; rep < 3; rep++) {
                    float shift = 0.25f * rep;
                    float[][] want = k.apart(shift);
                    k.writeInputs(shift);
                    g.replay();
                    assertBitsEqual(want, k.outputs(), "replay " + rep);
                }
            }
        }
    }

    @Test
    void aHeldNormRunsOnItsOwnBeforeAnyOtherOp() {
        try (Case k = new Case(2048, 64, true, false, DType.BF16, false, DType.BF16, false, 7);
                Tensor other = cuda.allocate(DType.BF16, 1, 2048);
                Tensor otherOut = cuda.allocate(DType.BF16, 1, 64)) {
            float[][] want = k.apart(0f);
            k.writeInputs(0f);
            long before = cuda.foldedNorms();
            cuda.rmsNorm(new RmsNorm(k.tx, k.tnw, k.tres, k.tnorm, k.tres, 1e-5f, false));
            // a linear of another x: the norm first, then this linear, then the norm's own GEMV unfused
            cuda.linear(new Linear(other, new LinearWeight.Dense(k.tw), null, otherOut));
            cuda.linear(new Linear(k.tnorm, new LinearWeight.Dense(k.tw), null, k.tout));
            assertEquals(before, cuda.foldedNorms());
            assertBitsEqual(want, k.outputs(), "norm released by another linear");
            // a read releases it too
            k.writeInputs(0f);
            cuda.rmsNorm(new RmsNorm(k.tx, k.tnw, k.tres, k.tnorm, k.tres, 1e-5f, false));
            float[] norm = Tensors.toFloats(k.tnorm);
            assertArrayEquals(want[1], norm, "norm released by a read");
            assertArrayEquals(want[2], Tensors.toFloats(k.tres), "residual released by a read");
            assertEquals(before, cuda.foldedNorms());
        }
    }

    @Test
    void gatedActivationFusesIntoTheGemvBeforeIt() {
        Object[][] cases = {
            // hidden, n, norm, residual, fn, bias, out dtype
            {2048, 16384, true, true, ActivationKind.SILU, false, DType.BF16},
            {256, 96, false, false, ActivationKind.GELU_TANH, true, DType.BF16},
            {4096, 1000, true, false, ActivationKind.GELU_ERF, false, DType.F32},
            {8192, 34, true, true, ActivationKind.RELU, true, DType.BF16},
        };
        long seed = 100;
        for (Object[] c : cases) {
            try (Case k = new Case((int) c[0], (int) c[1], (boolean) c[2], (boolean) c[3], false, DType.BF16,
                    (boolean) c[5], (DType) c[6], false, (ActivationKind) c[4], seed++)) {
                float[][] want = k.apart(0f);
                long norms = cuda.foldedNorms(), acts = cuda.fusedActivations();
                k.writeInputs(0f);
                k.ops();
                float[][] got = k.outputs();
                assertEquals(norms + (k.norm ? 1 : 0), cuda.foldedNorms(), "the norm did not fold: " + k);
                assertEquals(acts + 1, cuda.fusedActivations(), "the activation did not fuse: " + k);
                assertBitsEqual(want, got, k);
            }
        }
        // captured: norm + gate/up + activation as one kernel, replayed
        try (Case k = new Case(2048, 4096, true, true, false, DType.BF16, false, DType.BF16, false,
                ActivationKind.SILU, 7)) {
            k.writeInputs(0f);
            long acts = cuda.fusedActivations();
            try (OpGraph g = cuda.capture(k::ops)) {
                assertEquals(acts + 1, cuda.fusedActivations());
                for (int rep = 0; rep < 3; rep++) {
                    float[][] want = k.apart(0.5f * rep);
                    k.writeInputs(0.5f * rep);
                    g.replay();
                    assertBitsEqual(want, k.outputs(), "replay " + rep);
                }
            }
        }
    }

    /** q, k, v views of one fused projection [T, (hq + 2 hk) d], caches [blocks, 4, hk, d], and their ops. */
    private void rotaryThenCacheWrite(int tokens, int hq, int hk, int d, int rotaryDim, boolean neox, DType cacheType,
            int[] positions, int[] slots, boolean fused, float[][] into) {
        int width = (hq + 2 * hk) * d, maxPos = 64, blocks = 8;
        SplittableRandom r = new SplittableRandom(tokens * 31L + d);
        try (Tensor qkv = Tensors.fromFloats(cuda, DType.BF16, random(r, tokens * width, 2), tokens, width);
                Tensor cosSin = Tensors.fromFloats(cuda, DType.F32, random(r, maxPos * rotaryDim, 1), maxPos, rotaryDim);
                Tensor pos = Tensors.fromInts(cuda, positions, tokens);
                Tensor slotMap = Tensors.fromInts(cuda, slots, tokens);
                Tensor kCache = cuda.allocate(cacheType, blocks, 4, hk, d);
                Tensor vCache = cuda.allocate(cacheType, blocks, 4, hk, d)) {
            Tensor q = qkv.narrowLast(0, hq * d), k = qkv.narrowLast(hq * d, hk * d), v = qkv.narrowLast((hq + hk) * d, hk * d);
            long before = cuda.fusedCacheWrites();
            cuda.rotary(new Rotary(pos, q, k, cosSin, d, rotaryDim, neox));
            if (!fused) {
                cuda.synchronize();
            }
            cuda.kvCacheWrite(new KvCacheWrite(k, v, kCache, vCache, slotMap));
            assertEquals(before + (fused ? 1 : 0), cuda.fusedCacheWrites(), fused ? "did not fuse" : "fused");
            into[0] = Tensors.toFloats(qkv);
            into[1] = Tensors.toFloats(kCache);
            into[2] = Tensors.toFloats(vCache);
        }
    }

    @Test
    void rotaryAndItsCacheWriteFuse() {
        Object[][] cases = {
            // tokens, hq, hk, d, rotaryDim, neox, cache, positions, slots
            {1, 32, 8, 64, 64, true, DType.BF16, new int[] {37}, new int[] {5}},
            {5, 4, 2, 64, 32, false, DType.BF16, new int[] {0, 1, 2, 3, 63}, new int[] {3, -1, 3, 31, 0}},
            {3, 2, 1, 128, 128, true, DType.F32, new int[] {9, 8, 7}, new int[] {1, 2, 4}},
            {2, 8, 8, 16, 8, true, DType.F16, new int[] {5, 6}, new int[] {7, 8}},
        };
        for (Object[] c : cases) {
            float[][] apart = new float[3][], fused = new float[3][];
            int t = (int) c[0], hq = (int) c[1], hk = (int) c[2], d = (int) c[3], rd = (int) c[4];
            rotaryThenCacheWrite(t, hq, hk, d, rd, (boolean) c[5], (DType) c[6], (int[]) c[7], (int[]) c[8], false, apart);
            rotaryThenCacheWrite(t, hq, hk, d, rd, (boolean) c[5], (DType) c[6], (int[]) c[7], (int[]) c[8], true, fused);
            String what = java.util.Arrays.toString(c);
            assertArrayEquals(apart[0], fused[0], "q, k, v: " + what);
            assertArrayEquals(apart[1], fused[1], "k cache: " + what);
            assertArrayEquals(apart[2], fused[2], "v cache: " + what);
        }
    }

    @Test
    void fusedRotaryAndCacheWriteReportBadInputAsApart() {
        for (boolean fused : new boolean[] {false, true}) {
            float[][] out = new float[3][];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rotaryThenCacheWrite(2, 2, 1,
                    64, 64, true, DType.BF16, new int[] {3, 64}, new int[] {1, 2}, fused, out));
            assertTrue(e.getMessage().contains("rotary: positions[1] = 64"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> rotaryThenCacheWrite(2, 2, 1, 64, 64, true,
                    DType.BF16, new int[] {3, 4}, new int[] {1, 32}, fused, out));
            assertTrue(e.getMessage().contains("kv_cache_write: slotMapping[1] = 32"), e.getMessage());
        }
    }

    @Test
    void aHeldRotaryRunsBeforeALinearOfItsQ() {
        int hq = 4, hk = 2, d = 64, width = (hq + 2 * hk) * d, maxPos = 16, n = 40;
        SplittableRandom r = new SplittableRandom(5);
        float[] qkvValues = random(r, width, 2), cs = random(r, maxPos * d, 1), w = random(r, n * hq * d, 0.1);
        float[][] outs = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (Tensor qkv = Tensors.fromFloats(cuda, DType.BF16, qkvValues, 1, width);
                    Tensor cosSin = Tensors.fromFloats(cuda, DType.F32, cs, maxPos, d);
                    Tensor pos = Tensors.fromInts(cuda, new int[] {7}, 1);
                    Tensor tw = Tensors.fromFloats(cuda, DType.BF16, w, n, hq * d);
                    Tensor out = cuda.allocate(DType.BF16, 1, n)) {
                Tensor q = qkv.narrowLast(0, hq * d), k = qkv.narrowLast(hq * d, hk * d);
                cuda.rotary(new Rotary(pos, q, k, cosSin, d, d, true));
                if (run == 0) {
                    cuda.synchronize();
                }
                cuda.linear(new Linear(q, new LinearWeight.Dense(tw), null, out));
                outs[run] = Tensors.toFloats(out);
            }
        }
        assertArrayEquals(outs[0], outs[1], "the linear read q before the held rotary ran");
    }
}
