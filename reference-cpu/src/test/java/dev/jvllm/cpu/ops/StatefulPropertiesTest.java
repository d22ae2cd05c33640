package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;

import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Properties every stateful op must have, over random sizes, dtypes and flags (QuickTheories), on
 * both the scalar and the SIMD form:
 * <ol type="a">
 *   <li>prefill of L tokens, then M one-token decodes (the update op where there is one, else the op
 *       with 1-token sequences continuing from the slot) equals one prefill of L+M tokens;
 *   <li>chunked prefill (the first part, then the rest continuing from the saved state) equals the
 *       whole prefill;
 *   <li>state slots not in the batch, and output rows of padded sequences, are bit-identical after the call;
 *   <li>a batch of several sequences equals running each sequence alone.
 * </ol>
 * (a) and (b) hold to a tight NMSE (the reference evaluates the same recurrence either way, so in
 * fact bit for bit); (c) and (d) bit for bit.
 */
class StatefulPropertiesTest {
    /** Allowed NMSE for (a) and (b): rounding noise only. */
    static final double TIGHT = 1e-12;
    static final int EXAMPLES = 12;
    static final DType[] DTYPES = {DType.F32, DType.BF16, DType.F16};

    static CpuBackend scalarCpu;
    static CpuBackend simdCpu;

    @BeforeAll
    static void backends() {
        scalarCpu = scalar();
        simdCpu = simd(3);
    }

    @AfterAll
    static void close() {
        scalarCpu.close();
        simdCpu.close();
    }

    /** The stateful ops, each with a generator of fixtures (sizes, dtypes, flags, weights). */
    enum Op {
        CAUSAL_CONV1D(seed -> SourceDSL.integers().between(1, 40).zip(SourceDSL.integers().between(2, 4),
                SourceDSL.integers().between(0, 2), SourceDSL.integers().between(0, 7),
                (c, k, d, f) -> (Fixture) new Conv(DTYPES[d], DTYPES[d], c, k, (f & 1) != 0, (f & 2) != 0,
                        (f & 4) != 0, seed))),
        SELECTIVE_SCAN(seed -> SourceDSL.integers().between(1, 24).zip(SourceDSL.integers().between(1, 20),
                SourceDSL.integers().between(0, 2), SourceDSL.integers().between(0, 31),
                (d, n, t, f) -> (Fixture) new Selective(DTYPES[t], d, n, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0,
                        (f & 8) != 0, (f & 16) != 0, seed))),
        SSD(seed -> SourceDSL.integers().between(0, 5).zip(SourceDSL.integers().between(1, 16),
                SourceDSL.integers().between(1, 20), SourceDSL.integers().between(0, 3 * 16 - 1),
                (hg, p, n, f) -> {
                    int[][] headsGroups = {{1, 1}, {2, 1}, {2, 2}, {4, 1}, {4, 2}, {4, 4}};
                    int flags = f % 16;
                    return (Fixture) new Ssd(DTYPES[f / 16], headsGroups[hg][0], p, headsGroups[hg][1], n,
                            (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, 0f,
                            (flags & 8) != 0 ? 0.2f : Float.POSITIVE_INFINITY, seed % 2 == 0, seed);
                })),
        SHORT_CONV(seed -> SourceDSL.integers().between(1, 40).zip(SourceDSL.integers().between(2, 4),
                SourceDSL.integers().between(0, 2), SourceDSL.integers().between(0, 3),
                (c, k, d, f) -> (Fixture) new ShortConvFix(DTYPES[d], DTYPES[d], c, k, (f & 1) != 0, (f & 2) != 0,
                        seed))),
        LINEAR_ATTENTION(seed -> SourceDSL.integers().between(1, 3).zip(SourceDSL.integers().between(1, 24),
                SourceDSL.integers().between(0, 2), SourceDSL.booleans().all(),
                (h, d, t, strided) -> (Fixture) new Lightning(DTYPES[t], h, d, strided, seed)));

        private final Function<Long, Gen<Fixture>> fixtures;

        Op(Function<Long, Gen<Fixture>> fixtures) {
            this.fixtures = fixtures;
        }

        Gen<Fixture> fixtures() {
            return SourceDSL.longs().between(0, 1 << 20).flatMap(fixtures::apply);
        }
    }

    /** Lengths L (prefill) and M (decode steps), a split point, the data seed. */
    record Scenario(int l, int m, int split, long seed) {
    }

    static Gen<Scenario> scenarios() {
        return SourceDSL.integers().between(1, 20).zip(SourceDSL.integers().between(1, 6),
                SourceDSL.integers().between(0, 1000), SourceDSL.longs().all(),
                (l, m, split, seed) -> new Scenario(l, m, 1 + split % (l + m - 1), seed)); // l + m ≥ 2
    }

    private static CpuBackend[] forms() {
        return new CpuBackend[] {scalarCpu, simdCpu};
    }

    private static String form(CpuBackend b) {
        return b == scalarCpu ? "scalar" : "simd";
    }

    /** Tokens [from, to) of a [T, width] array. */
    private static float[] rows(float[] in, int width, int from, int to) {
        return Arrays.copyOfRange(in, from * width, to * width);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static void assertTight(String what, float[] ref, float[] got) {
        assertEquals(ref.length, got.length, what + ": length");
        double e = nmse(ref, got, 1, null);
        if (!(e <= TIGHT)) {
            fail(what + ": NMSE " + e + " > " + TIGHT);
        }
    }

    /** A single sequence in slot 1 of a 3-slot pool, fresh or continued. */
    private static Batch single(int len, boolean init) {
        return Batch.of(new int[] {len}, new int[] {1}, new int[] {init ? 1 : 0});
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Op.class)
    void prefillThenDecodeEqualsOneLongPrefill(Op op) {
        qt().withExamples(EXAMPLES).withFixedSeed(1).forAll(op.fixtures(), scenarios()).checkAssert((f, s) -> {
            SplittableRandom r = new SplittableRandom(s.seed());
            boolean init = r.nextBoolean();
            float[] in = f.tokens(r, s.l() + s.m()), pool = f.pool(r, 3);
            for (CpuBackend b : forms()) {
                String what = op + " " + f + " L=" + s.l() + " M=" + s.m() + " init=" + init + " " + form(b);
                Result whole = f.prefill(b, in, single(s.l() + s.m(), init), pool);
                Result part = f.prefill(b, rows(in, f.width(), 0, s.l()), single(s.l(), init), pool);
                float[] out = part.out(), state = part.pool();
                for (int t = s.l(); t < s.l() + s.m(); t++) {
                    Result step = f.decode(b, rows(in, f.width(), t, t + 1), new int[] {1}, state);
                    out = concat(out, step.out());
                    state = step.pool();
                }
                assertTight(what + " out", whole.out(), out);
                assertTight(what + " state", whole.pool(), state);
                int z = f.slotSize();
                for (int other : new int[] {0, 2}) {
                    assertBitEqual(what + " slot " + other, Arrays.copyOfRange(pool, other * z, (other + 1) * z),
                            Arrays.copyOfRange(state, other * z, (other + 1) * z));
                }
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Op.class)
    void chunkedPrefillEqualsWholePrefill(Op op) {
        qt().withExamples(EXAMPLES).withFixedSeed(2).forAll(op.fixtures(), scenarios()).checkAssert((f, s) -> {
            SplittableRandom r = new SplittableRandom(s.seed());
            boolean init = r.nextBoolean();
            int len = s.l() + s.m(), k = Math.min(s.split(), len - 1);
            float[] in = f.tokens(r, len), pool = f.pool(r, 3);
            for (CpuBackend b : forms()) {
                String what = op + " " + f + " len=" + len + " split=" + k + " init=" + init + " " + form(b);
                Result whole = f.prefill(b, in, single(len, init), pool);
                Result first = f.prefill(b, rows(in, f.width(), 0, k), single(k, init), pool);
                Result rest = f.prefill(b, rows(in, f.width(), k, len), single(len - k, true), first.pool());
                assertTight(what + " out", whole.out(), concat(first.out(), rest.out()));
                assertTight(what + " state", whole.pool(), rest.pool());
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Op.class)
    void slotsOutsideTheBatchStayBitIdentical(Op op) {
        qt().withExamples(EXAMPLES).withFixedSeed(3).forAll(op.fixtures(), scenarios()).checkAssert((f, s) -> {
            SplittableRandom r = new SplittableRandom(s.seed());
            int slots = 2 + r.nextInt(6);
            Batch m = randomBatch(r, 4, s.l() + s.m(), slots);
            float[] in = f.tokens(r, m.tokens()), pool = f.pool(r, slots);
            for (CpuBackend b : forms()) {
                String what = op + " " + f + " qsl=" + Arrays.toString(m.qsl()) + " slots=" + Arrays.toString(m.slots())
                        + " " + form(b);
                Result got = f.prefill(b, in, m, pool);
                boolean[] used = new boolean[slots];
                for (int sl : m.slots()) {
                    if (sl >= 0) {
                        used[sl] = true;
                    }
                }
                for (int sl = 0; sl < slots; sl++) {
                    if (!used[sl]) {
                        int z = f.slotSize();
                        assertBitEqual(what + " slot " + sl, Arrays.copyOfRange(pool, sl * z, (sl + 1) * z),
                                Arrays.copyOfRange(got.pool(), sl * z, (sl + 1) * z));
                    }
                }
                boolean[] active = m.activeRows();
                for (int t = 0; t < active.length; t++) {
                    for (int j = 0; !active[t] && j < f.outWidth(); j++) {
                        assertEquals(CANARY, got.out()[t * f.outWidth() + j], what + ": padded row " + t + " written");
                    }
                }
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Op.class)
    void batchEqualsEachSequenceAlone(Op op) {
        qt().withExamples(EXAMPLES).withFixedSeed(4).forAll(op.fixtures(), scenarios()).checkAssert((f, s) -> {
            SplittableRandom r = new SplittableRandom(s.seed());
            int slots = 6;
            Batch m = randomBatch(r, 5, s.l() + s.m(), slots);
            float[] in = f.tokens(r, m.tokens()), pool = f.pool(r, slots);
            int z = f.slotSize(), w = f.outWidth();
            for (CpuBackend b : forms()) {
                Result all = f.prefill(b, in, m, pool);
                for (int i = 0; i < m.size(); i++) {
                    int sl = m.slots()[i];
                    if (sl < 0) {
                        continue;
                    }
                    String what = op + " " + f + " sequence " + i + " of qsl=" + Arrays.toString(m.qsl()) + " "
                            + form(b);
                    int from = m.qsl()[i], to = m.qsl()[i + 1];
                    Result alone = f.prefill(b, rows(in, f.width(), from, to),
                            Batch.of(new int[] {to - from}, new int[] {sl}, new int[] {m.init()[i]}), pool);
                    assertBitEqual(what + " out", alone.out(), Arrays.copyOfRange(all.out(), from * w, to * w));
                    assertBitEqual(what + " state", Arrays.copyOfRange(alone.pool(), sl * z, (sl + 1) * z),
                            Arrays.copyOfRange(all.pool(), sl * z, (sl + 1) * z));
                }
            }
        });
    }
}
