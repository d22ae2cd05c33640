package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.Tolerance;
import org.junit.jupiter.api.Test;

/**
 * What the conformance cases (at most 40 tokens, N ≤ 128, D ≤ 128) cannot reach in the SSD and
 * linear-attention kernels (skipped without a GPU): sequences of hundreds of tokens and empty ones in
 * one varlen batch, the largest state sizes supports() accepts (N = 256, D = 256), a decode batch
 * with padding, and bad batches touching nothing.
 */
class CudaSsdOpsTest extends CudaVsCpuTest {
    /** Token counts of one long varlen batch: 1-token, empty, short and long sequences. */
    private static final int[] LENS = {1, 300, 0, 5, 3, 700, 2};

    /** Sequence i uses slot (slots − 1 − i) and continues from it when i is odd; sequence 2 is padding. */
    private static StateBatch batch(CaseBuilder b, int slots) {
        int n = LENS.length;
        int[] qsl = new int[n + 1], idx = new int[n], init = new int[n];
        for (int i = 0; i < n; i++) {
            qsl[i + 1] = qsl[i] + LENS[i];
            idx[i] = i == 2 ? -1 : slots - 1 - i;
            init[i] = i % 2;
        }
        return new StateBatch(b.ints(qsl, n + 1), b.ints(idx, n), b.ints(init, n));
    }

    private static int tokens() {
        return java.util.Arrays.stream(LENS).sum();
    }

    private static final long SEED = 11;

    /** Slots of a pool of {@code LENS.length + 2}: the first two and the padding sequence's stay unused. */
    private static final int[] UNUSED = {0, 1, LENS.length + 2 - 1 - 2};

    private static Instance ssd(CaseBuilder b, int heads, int groups, int p, int n, DType dt) {
        int t = tokens(), slots = LENS.length + 2;
        Tensor x = b.input(dt, -1, 1, t, heads * p);
        Tensor dtIn = b.input(dt, -3, 0.5, t, heads);
        Tensor a = b.input(DType.F32, -8, -0.5, heads);
        Tensor bm = b.input(dt, -1, 1, t, groups * n);
        Tensor cm = b.input(dt, -1, 1, t, groups * n);
        Tensor dSkip = b.input(DType.F32, -1, 1, heads);
        Tensor dtBias = b.input(DType.F32, -1, 1, heads);
        Tensor states = b.state(DType.F32, -1, 1, slots, heads, p, n);
        Tensor out = b.output(dt, t, heads * p);
        return b.build(new SsdChunkScan(x, dtIn, a, bm, cm, dSkip, dtBias, true, 0.001f, 0.1f, groups, 256, states,
                batch(b, slots), out), new Checked("out", out, outTolerance(dt), null),
                new Checked("ssmStates", states, Tolerance.nmse(1e-9), UNUSED));
    }

    @Test
    void ssdOverLongSequencesMatchesTheCpu() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (int[] s : new int[][] {{8, 1, 64, 128}, {4, 2, 16, 256}, {3, 3, 70, 17}}) {
                String m = compare(SEED, b -> ssd(b, s[0], s[1], s[2], s[3], dt));
                assertNull(m, "ssd_chunk_scan H=" + s[0] + " G=" + s[1] + " P=" + s[2] + " N=" + s[3] + " " + dt
                        + ": " + m);
            }
        }
    }

    @Test
    void ssdDecodeWithPaddingAndTheLargestStateMatchesTheCpu() {
        int heads = 4, groups = 2, p = 32, n = 256, rows = 5, slots = 7;
        String m = compare(SEED, b -> {
            Tensor x = b.input(DType.BF16, -1, 1, rows, heads * p);
            Tensor dtIn = b.input(DType.BF16, 0, 0.3, rows, heads);
            Tensor a = b.input(DType.F32, -8, -0.5, heads);
            Tensor bm = b.input(DType.BF16, -1, 1, rows, groups * n);
            Tensor cm = b.input(DType.BF16, -1, 1, rows, groups * n);
            Tensor states = b.state(DType.F32, -1, 1, slots, heads, p, n);
            Tensor out = b.output(DType.BF16, rows, heads * p);
            return b.build(new SsdStateUpdate(x, dtIn, a, bm, cm, null, null, false, 0f, Float.POSITIVE_INFINITY,
                    groups, states, b.ints(new int[] {6, -1, 0, 3, 2}, rows), out),
                    new Checked("out", out, outTolerance(DType.BF16), null),
                    new Checked("ssmStates", states, Tolerance.nmse(1e-9), new int[] {1, 4, 5}));
        });
        assertNull(m, "ssd_state_update N=256: " + m);
    }

    private static Instance linearAttention(CaseBuilder b, int heads, int d, DType dt) {
        int t = tokens(), slots = LENS.length + 2;
        Tensor q = b.input(dt, -0.3, 1, t, heads * d);
        Tensor k = b.input(dt, -0.3, 1, t, heads * d);
        Tensor v = b.input(dt, -0.3, 1, t, heads * d);
        Tensor slopes = b.input(DType.F32, 0.01, 1.5, heads);
        Tensor states = b.state(DType.F32, -1, 1, slots, heads, d, d);
        Tensor out = b.output(dt, t, heads * d);
        return b.build(new LinearAttention(q, k, v, slopes, states, batch(b, slots), out),
                new Checked("out", out, outTolerance(dt), null),
                new Checked("kvStates", states, Tolerance.nmse(1e-9), UNUSED));
    }

    @Test
    void linearAttentionOverLongSequencesMatchesTheCpu() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (int[] hd : new int[][] {{2, 128}, {1, 256}, {3, 45}}) {
                String m = compare(SEED, b -> linearAttention(b, hd[0], hd[1], dt));
                assertNull(m, "linear_attention H=" + hd[0] + " D=" + hd[1] + " " + dt + ": " + m);
            }
        }
    }

    @Test
    void badBatchesTouchNothingAndNameTheProblem() {
        try (CaseBuilder b = new CaseBuilder(cuda, 3)) {
            int heads = 2, p = 8, n = 16;
            Tensor x = b.input(DType.BF16, -1, 1, 6, heads * p);
            Tensor dtIn = b.input(DType.BF16, 0, 0.3, 6, heads);
            Tensor a = b.input(DType.F32, -8, -0.5, heads);
            Tensor bc = b.input(DType.BF16, -1, 1, 6, n);
            Tensor states = b.state(DType.F32, -1, 1, 3, heads, p, n);
            Tensor out = b.output(DType.BF16, 6, heads * p);
            byte[] statesBefore = Tensors.toBytes(states), outBefore = Tensors.toBytes(out);

            StateBatch shared = new StateBatch(b.ints(new int[] {0, 2, 4, 6}, 4), b.ints(new int[] {0, 2, 0}, 3),
                    b.ints(new int[] {1, 0, 1}, 3));
            cuda.ssdChunkScan(new SsdChunkScan(x, dtIn, a, bc, bc, null, null, false, 0f, Float.POSITIVE_INFINITY, 1,
                    8, states, shared, out));
            var e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains("ssd_chunk_scan: state slot 0 is used by sequences 0 and 2"),
                    e.getMessage());

            cuda.ssdStateUpdate(new SsdStateUpdate(x, dtIn, a, bc, bc, null, null, false, 0f, Float.POSITIVE_INFINITY,
                    1, states, b.ints(new int[] {1, 5, -1, 0, 2, -1}, 6), out));
            e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains(
                    "ssd_state_update: stateIndices[1]=5 is outside the state pool [0, 3)"), e.getMessage());
            assertArrayEquals(statesBefore, Tensors.toBytes(states), "ssm states after rejected batches");
            assertArrayEquals(outBefore, Tensors.toBytes(out), "out after rejected batches");

            int d = 16;
            Tensor qkv = b.input(DType.F32, -0.3, 1, 6, heads * d);
            Tensor kv = b.state(DType.F32, -1, 1, 3, heads, d, d);
            Tensor o = b.output(DType.F32, 6, heads * d);
            byte[] kvBefore = Tensors.toBytes(kv), oBefore = Tensors.toBytes(o);
            StateBatch backwards = new StateBatch(b.ints(new int[] {0, 4, 2, 6}, 4), b.ints(new int[] {0, -1, 1}, 3),
                    b.ints(new int[] {1, 0, 1}, 3));
            cuda.linearAttention(new LinearAttention(qkv, qkv, qkv, b.input(DType.F32, 0.1, 1, heads), kv, backwards,
                    o));
            e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains(
                    "linear_attention: queryStartLoc[1]=4, queryStartLoc[2]=2 is not a token range"), e.getMessage());
            assertArrayEquals(kvBefore, Tensors.toBytes(kv), "kv states after a rejected batch");
            assertArrayEquals(oBefore, Tensors.toBytes(o), "out after a rejected batch");
        }
    }
}
