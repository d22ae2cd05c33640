package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PagedAttentionKernelTest {
    static final Backend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    static final Backend SIMD = CpuBackend.create();

    static float[] run(Backend b, AttentionProblem p) {
        PagedAttention a = p.args(b);
        assertTrue(b.supports(a), "supports " + p.qType + "/" + p.cacheType + "/" + p.outType);
        b.pagedAttention(a);
        return Tensors.toFloats(a.out());
    }

    /** max |got − want| over max(1e-30, max |want|), with the NaN pattern required to match. */
    static double relErr(double[] want, float[] got) {
        double err = 0, scale = 1e-30;
        for (int i = 0; i < want.length; i++) {
            assertEquals(Double.isNaN(want[i]), Float.isNaN(got[i]), "NaN at " + i);
            err = Math.max(err, Math.abs(got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return err / scale;
    }

    static double nmse(float[] r, float[] c) {
        double num = 0, den = 0;
        for (int i = 0; i < r.length; i++) {
            assertEquals(Float.isNaN(r[i]), Float.isNaN(c[i]), "NaN at " + i);
            num += ((double) c[i] - r[i]) * ((double) c[i] - r[i]);
            den += (double) r[i] * r[i];
        }
        return den == 0 ? num : num / den;
    }

    static AttentionProblem problem(long seed, int[] qLens, int[] seqLens, int heads, int kvHeads, int d, int block,
            int window, float softCap, DType qType, DType cacheType, DType outType, int pad) {
        return new AttentionProblem(new SplittableRandom(seed), qLens, seqLens, heads, kvHeads, d, block, window,
                softCap, qType, cacheType, outType, pad);
    }

    @Test
    void singleAllowedKeyReturnsItsValueExactly() {
        // window 1: each query sees only its own token, softmax = 1, out = v_p exactly in both forms
        AttentionProblem p = problem(1, new int[] {5, 1}, new int[] {5, 9}, 4, 2, 16, 4, 1, 0, DType.F32, DType.F32,
                DType.F32, 0);
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] out = run(b, p);
            for (int s = 0; s < 2; s++) {
                for (int i = 0; i < p.qLens[s]; i++) {
                    int t = p.qStart[s] + i, pos = p.seqLens[s] - p.qLens[s] + i;
                    for (int h = 0; h < 4; h++) {
                        int base = p.slot(s, pos) * 2 * 16 + (h / 2) * 16;
                        for (int c = 0; c < 16; c++) {
                            assertEquals(p.v[base + c], out[t * 64 + h * 16 + c], b.description() + " t=" + t);
                        }
                    }
                }
            }
        }
    }

    @Test
    void equalScoresAverageTheValues() {
        // q = 0: every score is 0, so out = mean of the allowed values (hand-checkable with 3 keys)
        AttentionProblem p = problem(2, new int[] {1}, new int[] {3}, 1, 1, 2, 2, 0, 0, DType.F32, DType.F32,
                DType.F32, 0);
        java.util.Arrays.fill(p.q, 0f);
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] out = run(b, p);
            for (int c = 0; c < 2; c++) {
                double mean = 0;
                for (int j = 0; j < 3; j++) {
                    mean += p.v[p.slot(0, j) * 2 + c] / 3.0;
                }
                assertEquals(mean, out[c], 1e-6);
            }
        }
    }

    @Test
    void scalarMatchesNaiveDoubleReference() {
        int[][] shapes = { // heads, kvHeads, d, block, window
            {4, 4, 64, 16, 0}, {4, 2, 80, 5, 0}, {8, 2, 96, 16, 7}, {8, 1, 128, 5, 100}, {2, 1, 256, 16, 3}};
        for (int[] s : shapes) {
            for (float cap : new float[] {0f, 5f}) {
                AttentionProblem p = problem(s[2] * 31L + s[3], new int[] {1, 23, 6, 1}, new int[] {40, 23, 17, 1},
                        s[0], s[1], s[2], s[3], s[4], cap, DType.F32, DType.F32, DType.F32, 2);
                double[] want = p.naive();
                assertTrue(relErr(want, run(SCALAR, p)) < 1e-5, "scalar " + java.util.Arrays.toString(s));
                assertTrue(relErr(want, run(SIMD, p)) < 1e-5, "simd " + java.util.Arrays.toString(s));
            }
        }
    }

    @Test
    void paddingRowsAndQueriesWithoutKeysAreZero() {
        // sequence 1 has 4 queries but only 2 cache tokens: its first two queries have no key
        AttentionProblem p = problem(3, new int[] {3, 4}, new int[] {3, 2}, 2, 1, 8, 4, 0, 0, DType.F32, DType.F32,
                DType.BF16, 3);
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] out = run(b, p);
            for (int t = 3; t < 5; t++) {
                for (int c = 0; c < 16; c++) {
                    assertEquals(0f, out[t * 16 + c]);
                }
            }
            for (int t = 7; t < 10; t++) {
                for (int c = 0; c < 16; c++) {
                    assertEquals(0f, out[t * 16 + c], "padding row " + t);
                }
            }
            assertTrue(relErr(p.naive(), out) < 1e-2);
        }
    }

    @Test
    void simdMatchesScalarForEveryDtypeMix() {
        DType[] fl = {DType.F32, DType.BF16, DType.F16};
        long seed = 10;
        for (DType qt : fl) {
            for (DType ct : fl) {
                for (DType ot : fl) {
                    int[] hs = {64, 80, 96, 128, 256};
                    int d = hs[(int) (seed % hs.length)];
                    AttentionProblem p = problem(seed++, new int[] {1, 23, 5, 1, 9}, new int[] {40, 23, 12, 2, 9},
                            8, 1 << (seed % 4), d, seed % 2 == 0 ? 16 : 5, (int) (seed % 3) * 6,
                            seed % 2 == 0 ? 0f : 20f, qt, ct, ot, 1);
                    double e = nmse(run(SCALAR, p), run(SIMD, p));
                    double tol = ot == DType.F32 ? 1e-11 : ot == DType.F16 ? 1e-8 : 1e-6;
                    assertTrue(e < tol, qt + "/" + ct + "/" + ot + ": nmse " + e);
                }
            }
        }
    }

    @Test
    void bitIdenticalFor1And2And7Threads() {
        // mixed batch: long prefill, decodes, chunked prefill, sliding window, GQA 4, bf16 cache
        for (int kvHeads : new int[] {2, 8}) {
            AttentionProblem p = problem(4, new int[] {40, 1, 1, 19, 1}, new int[] {40, 700, 33, 50, 1}, 8, kvHeads,
                    80, 16, 0, 0, DType.BF16, DType.BF16, DType.F32, 2);
            AttentionProblem w = problem(5, new int[] {40, 1, 13}, new int[] {40, 90, 29}, 8, kvHeads, 64, 5, 9, 30f,
                    DType.F32, DType.F16, DType.F32, 0);
            for (AttentionProblem pr : new AttentionProblem[] {p, w}) {
                float[] ref = null;
                for (int threads : new int[] {1, 2, 7}) {
                    Backend b = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
                    float[] out = run(b, pr);
                    if (ref == null) {
                        ref = out;
                    } else {
                        int[] bits = new int[out.length], refBits = new int[out.length];
                        for (int i = 0; i < out.length; i++) {
                            bits[i] = Float.floatToRawIntBits(out[i]);
                            refBits[i] = Float.floatToRawIntBits(ref[i]);
                        }
                        assertArrayEquals(refBits, bits, threads + " threads");
                    }
                }
            }
        }
    }

    @Test
    void chunkedPrefillEqualsWholePrefill() {
        // the SIMD form computes each query independently of its neighbours: the last 7 queries
        // as a chunk give the same bits as within the 30-token prefill
        AttentionProblem whole = problem(6, new int[] {30}, new int[] {30}, 4, 1, 64, 16, 0, 0, DType.F32, DType.F32,
                DType.F32, 0);
        float[] all = run(SIMD, whole);
        PagedAttention a = whole.args(SIMD);
        Tensor q7 = a.q().slice(23, 7);
        Tensor out7 = SIMD.allocate(DType.F32, 7, 256);
        SIMD.pagedAttention(new PagedAttention(q7, a.kCache(), a.vCache(), out7, Tensors.fromInts(SIMD, new int[] {0, 7}, 2),
                a.seqLens(), a.blockTables(), 4, 1, 64, whole.scale, 0, 0, 7, 30));
        float[] chunk = Tensors.toFloats(out7);
        for (int i = 0; i < chunk.length; i++) {
            assertEquals(Float.floatToRawIntBits(all[23 * 256 + i]), Float.floatToRawIntBits(chunk[i]), "element " + i);
        }
    }

    @Test
    void splitDecodeEqualsTheSameQueryInsideALongChunk() {
        // 17 queries over 1030 keys fold their partitions inside their units; the last query alone is
        // a decode whose partitions run as separate units and fold in a second pass: same bits
        for (int window : new int[] {0, 700}) {
            AttentionProblem p = problem(8, new int[] {17}, new int[] {1030}, 4, 2, 64, 16, window, 0, DType.F32,
                    DType.BF16, DType.F32, 0);
            float[] all = run(SIMD, p);
            PagedAttention a = p.args(SIMD);
            Tensor out1 = SIMD.allocate(DType.F32, 1, 256);
            SIMD.pagedAttention(new PagedAttention(a.q().slice(16, 1), a.kCache(), a.vCache(), out1,
                    Tensors.fromInts(SIMD, new int[] {0, 1}, 2), a.seqLens(), a.blockTables(), 4, 2, 64, p.scale,
                    window, 0, 1, 1030));
            float[] one = Tensors.toFloats(out1);
            for (int i = 0; i < one.length; i++) {
                assertEquals(Float.floatToRawIntBits(all[16 * 256 + i]), Float.floatToRawIntBits(one[i]),
                        "window " + window + " element " + i);
            }
            assertTrue(relErr(p.naive(), all) < 1e-5);
        }
    }

    @Test
    void malformedMetadataIsRejectedWithAClearMessage() {
        AttentionProblem p = problem(7, new int[] {2}, new int[] {20}, 2, 1, 8, 4, 0, 0, DType.F32, DType.F32,
                DType.F32, 0);
        PagedAttention a = p.args(SIMD);
        Tensors.writeInts(a.blockTables(), new int[] {0, 1, 99, 2, 3, 4});
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            PagedAttention x = new PagedAttention(a.q(), a.kCache(), a.vCache(), a.out(), a.queryStartLoc(), a.seqLens(),
                    a.blockTables(), 2, 1, 8, 1f, 0, 0, 2, 20);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.pagedAttention(x));
            assertTrue(e.getMessage().contains("blockTables[0, 2] = 99"), e.getMessage());
        }
    }
}
