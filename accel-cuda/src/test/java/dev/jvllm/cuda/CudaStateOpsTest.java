package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.Tolerance;
import org.junit.jupiter.api.Test;

/**
 * What the conformance cases (at most 40 rows, at most 130 channels) cannot reach in the conv and
 * scan kernels (skipped without a GPU): batches long and wide enough that conv_causal runs chunks of
 * many rows holding several sequences, sequences spanning many chunks, empty sequences, scans over
 * hundreds of steps, gated-norm groups of thousands of channels; a bad batch touching nothing; a
 * conv whose output is its input.
 */
class CudaStateOpsTest extends CudaVsCpuTest {
    /** Token counts of one long varlen batch: 1-token, empty, chunk-sized and long sequences. */
    private static final int[] LENS = {1, 700, 0, 5, 3, 1500, 2, 64, 65};

    /** sequence i uses slot (slots − 1 − i) and continues from it when i is odd; slot 0.. stay unused. */
    private static StateBatch batch(CaseBuilder b, int[] lens, int slots) {
        int n = lens.length;
        int[] qsl = new int[n + 1], idx = new int[n], init = new int[n];
        for (int i = 0; i < n; i++) {
            qsl[i + 1] = qsl[i] + lens[i];
            idx[i] = slots - 1 - i;
            init[i] = i % 2;
        }
        return new StateBatch(b.ints(qsl, n + 1), b.ints(idx, n), b.ints(init, n));
    }

    private static int tokens(int[] lens) {
        return java.util.Arrays.stream(lens).sum();
    }

    private static final long SEED = 7;

    private static Instance conv(CaseBuilder b, int channels, int k, DType dt, DType stateDt, boolean shortConv) {
        int t = tokens(LENS), slots = LENS.length + 2;
        Tensor x = b.input(dt, -2, 2, t, shortConv ? 3 * channels : channels);
        Tensor weight = b.input(dt, -0.6, 0.6, channels, k);
        Tensor bias = b.input(dt, -0.5, 0.5, channels);
        Tensor states = b.state(stateDt, -1, 1, slots, k - 1, channels);
        Tensor out = b.output(dt, t, channels);
        StateBatch sb = batch(b, LENS, slots);
        return b.build(shortConv ? new ShortConv(x, weight, bias, states, sb, out)
                : new CausalConv1d(x, weight, bias, states, sb, true, out),
                new Checked("out", out, outTolerance(dt), null),
                new Checked("convStates", states, Tolerance.BIT_EXACT, new int[] {0, 1}));
    }

    @Test
    void convsOverLongVarlenBatchesMatchTheCpu() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (boolean shortConv : new boolean[] {false, true}) {
                for (int channels : new int[] {1000, 4100}) {
                    DType stateDt = channels == 1000 ? dt : DType.F32;
                    String m = compare(SEED, b -> conv(b, channels, 4, dt, stateDt, shortConv));
                    String op = shortConv ? "short_conv" : "causal_conv1d";
                    assertNull(m, op + " C=" + channels + " " + dt + ": " + m);
                }
            }
        }
    }

    private static Instance scan(CaseBuilder b, int d, int n, DType dt) {
        int t = tokens(LENS), slots = LENS.length + 2;
        Tensor u = b.input(dt, -1, 1, t, d);
        Tensor delta = b.input(dt, -3, 1, t, d);
        float[] aLog = b.uniform(d * n, -1, 1.5);
        for (int i = 0; i < aLog.length; i++) {
            aLog[i] = (float) -Math.exp(aLog[i]);
        }
        Tensor a = b.input(DType.F32, aLog, d, n);
        Tensor bm = b.input(dt, -1, 1, t, n);
        Tensor cm = b.input(dt, -1, 1, t, n);
        Tensor dSkip = b.input(DType.F32, -1, 1, d);
        Tensor z = b.input(dt, -2, 2, t, d);
        Tensor deltaBias = b.input(DType.F32, -0.5, 0.5, d);
        Tensor states = b.state(DType.F32, -1, 1, slots, d, n);
        Tensor out = b.output(dt, t, d);
        return b.build(new SelectiveScan(u, delta, a, bm, cm, dSkip, z, deltaBias, true, states, batch(b, LENS, slots),
                out), new Checked("out", out, outTolerance(dt), null),
                new Checked("ssmStates", states, Tolerance.nmse(1e-9), new int[] {0, 1}));
    }

    @Test
    void selectiveScanOverLongSequencesMatchesTheCpu() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (int[] dn : new int[][] {{700, 16}, {96, 64}, {33, 128}}) {
                String m = compare(SEED, b -> scan(b, dn[0], dn[1], dt));
                assertNull(m, "selective_scan D=" + dn[0] + " N=" + dn[1] + " " + dt + ": " + m);
            }
        }
    }

    /** Groups wider than the conformance cases: many values per thread, and past what a thread caches (8192). */
    @Test
    void gatedNormOverWideGroupsMatchesTheCpu() {
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (int[] gs : new int[][] {{1, 9000}, {2, 3000}}) {
                for (boolean normFirst : new boolean[] {false, true}) {
                    String m = compare(SEED, b -> {
                        int d = gs[0] * gs[1];
                        Tensor x = b.input(dt, -3, 3, 5, d);
                        Tensor z = b.input(dt, -4, 4, 5, 2 * d).narrowLast(d, d);
                        Tensor out = b.output(dt, 5, d);
                        return b.build(new GatedRmsNorm(x, z, b.input(dt, 0.5, 1.5, d), out, gs[1], 1e-5f, normFirst),
                                new Checked("out", out, Tolerance.nmse(dt == DType.F32 ? 1e-10 : 1e-7), null));
                    });
                    assertNull(m, "gated_rms_norm G=" + gs[0] + "x" + gs[1] + " " + dt
                            + (normFirst ? " norm first" : "") + ": " + m);
                }
            }
        }
    }

    @Test
    void badBatchesTouchNothingAndNameTheProblem() {
        try (CaseBuilder b = new CaseBuilder(cuda, 3)) {
            int c = 130, k = 4;
            Tensor x = b.input(DType.BF16, -2, 2, 6, 3 * c);
            Tensor weight = b.input(DType.BF16, -0.6, 0.6, c, k);
            Tensor states = b.state(DType.BF16, -1, 1, 3, k - 1, c);
            Tensor out = b.output(DType.BF16, 6, c);
            byte[] statesBefore = Tensors.toBytes(states), outBefore = Tensors.toBytes(out);

            StateBatch shared = new StateBatch(b.ints(new int[] {0, 2, 4, 6}, 4), b.ints(new int[] {0, 2, 0}, 3),
                    b.ints(new int[] {1, 0, 1}, 3));
            cuda.causalConv1d(new CausalConv1d(x.narrowLast(0, c), weight, null, states, shared, true, out));
            var e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains("causal_conv1d: state slot 0 is used by sequences 0 and 2"),
                    e.getMessage());

            StateBatch backwards = new StateBatch(b.ints(new int[] {0, 4, 2, 6}, 4), b.ints(new int[] {0, -1, 1}, 3),
                    b.ints(new int[] {1, 0, 1}, 3));
            cuda.shortConv(new ShortConv(x, weight, null, states, backwards, out));
            e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains(
                    "short_conv: queryStartLoc[1]=4, queryStartLoc[2]=2 is not a token range"), e.getMessage());

            assertArrayEquals(statesBefore, Tensors.toBytes(states), "conv states after rejected batches");
            assertArrayEquals(outBefore, Tensors.toBytes(out), "out after rejected batches");

            int d = 40, n = 16;
            Tensor u = b.input(DType.F32, -1, 1, 2, d);
            Tensor ssm = b.state(DType.F32, -1, 1, 3, d, n);
            Tensor y = b.output(DType.F32, 2, d);
            byte[] ssmBefore = Tensors.toBytes(ssm), yBefore = Tensors.toBytes(y);
            Tensor a = b.input(DType.F32, -2, -0.5, d, n);
            Tensor bc = b.input(DType.F32, -1, 1, 2, n);
            cuda.selectiveStateUpdate(new SelectiveStateUpdate(u, u, a, bc, bc, null, null, null, true, ssm,
                    b.ints(new int[] {1, 5}, 2), y));
            e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains(
                    "selective_state_update: stateIndices[1]=5 is outside the state pool [0, 3)"), e.getMessage());
            assertArrayEquals(ssmBefore, Tensors.toBytes(ssm), "ssm states after a rejected batch");
            assertArrayEquals(yBefore, Tensors.toBytes(y), "out after a rejected batch");
        }
    }

    /** The chunks of conv_causal re-read the rows before them, so out = x goes through a copy. */
    @Test
    void convOutputMayBeItsInput() {
        int c = 1000, k = 4, t = tokens(LENS), slots = LENS.length + 2;
        float[] xs, expected;
        try (CaseBuilder b = new CaseBuilder(cpu, 5)) {
            Tensor x = b.input(DType.F32, -2, 2, t, c);
            xs = Tensors.toFloats(x);
            Tensor out = b.output(DType.F32, t, c);
            cpu.causalConv1d(new CausalConv1d(x, b.input(DType.F32, -0.6, 0.6, c, k), null,
                    b.state(DType.F32, -1, 1, slots, k - 1, c), batch(b, LENS, slots), true, out));
            expected = Tensors.toFloats(out);
        }
        try (CaseBuilder b = new CaseBuilder(cuda, 5)) {
            Tensor x = b.input(DType.F32, xs, t, c);
            b.uniform(t * c, -2, 2); // keep the random stream where the CPU side has it
            cuda.causalConv1d(new CausalConv1d(x, b.input(DType.F32, -0.6, 0.6, c, k), null,
                    b.state(DType.F32, -1, 1, slots, k - 1, c), batch(b, LENS, slots), true, x));
            float[] got = Tensors.toFloats(x);
            assertTrue(Comparison.nmse(expected, got) < 1e-10, "nmse " + Comparison.nmse(expected, got));
        }
    }
}
