package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The checks every stateful kernel test runs, over the op's {@link #fixtures()}: (1) the scalar form
 * against the naive double computation of {@link ScanTestSupport}, on random varlen batches with
 * padding, fresh and continued sequences and untouched slots; (2) the SIMD form against the scalar
 * form; (3) the SIMD form bit-identical for 1, 2 and 7 threads. Subclasses add hand-checked cases.
 */
abstract class ScanKernelContract {
    static final int SLOTS = 7;

    /** A spread of sizes, dtypes and flags for this op (keep them small: every check runs each). */
    abstract List<Fixture> fixtures();

    /** True for the one-token update ops: batches are decode batches and run through {@link Fixture#decode}. */
    boolean decodeOp() {
        return false;
    }

    /** NMSE allowed between the scalar form and the naive double computation for outputs in dt. */
    double naiveTolerance(DType dt) {
        // f32: both evaluate the same recurrence, differing only by f32 rounding (~1e-7 relative per
        // element); narrow dtypes: the once-rounded output may land one ulp (2^-8 for bf16) apart.
        return dt == DType.F32 ? 1e-10 : 1e-5;
    }

    /** NMSE allowed between the SIMD and the scalar form's outputs in dt (0 = bit-identical). */
    abstract double simdOutTolerance(DType dt);

    /** NMSE allowed between the SIMD and the scalar form's final states (0 = bit-identical). */
    abstract double simdStateTolerance();

    Result run(CpuBackend b, Fixture f, float[] in, Batch m, float[] pool) {
        return decodeOp() ? f.decode(b, in, m.slots(), pool) : f.prefill(b, in, m, pool);
    }

    Batch nextBatch(SplittableRandom r) {
        if (!decodeOp()) {
            return randomBatch(r, 5, 40, SLOTS);
        }
        int n = r.nextInt(SLOTS + 1);
        List<Integer> free = new ArrayList<>();
        for (int s = 0; s < SLOTS; s++) {
            free.add(s);
        }
        Collections.shuffle(free, new java.util.Random(r.nextLong()));
        int[] slots = new int[n];
        for (int i = 0; i < n; i++) {
            slots[i] = r.nextInt(4) == 0 ? -1 : free.get(i);
        }
        return Batch.decode(slots);
    }

    @Test
    void scalarFormMatchesNaiveDoubleComputation() {
        SplittableRandom r = new SplittableRandom(11);
        try (CpuBackend b = scalar()) {
            for (Fixture f : fixtures()) {
                for (int rep = 0; rep < 4; rep++) {
                    Batch m = nextBatch(r);
                    float[] in = f.tokens(r, m.tokens()), pool = f.pool(r, SLOTS);
                    Result want = f.naive(in, m, pool), got = run(b, f, in, m, pool);
                    String what = f + " batch " + java.util.Arrays.toString(m.qsl()) + " slots "
                            + java.util.Arrays.toString(m.slots()) + " init " + java.util.Arrays.toString(m.init());
                    assertOut(what, want.out(), got.out(), f.outWidth(), m, naiveTolerance(f.dt));
                    // f32 states against double: rounding of λ/exp(δA) compounds over up to 40 steps, and
                    // sums of mixed-sign terms can cancel, so allow ~1e-4 relative
                    assertPool(what, pool, want.pool(), got.pool(), f.slotSize(), m.slots(), 1e-8);
                }
            }
        }
    }

    @Test
    void simdFormMatchesScalarForm() {
        SplittableRandom r = new SplittableRandom(12);
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (Fixture f : fixtures()) {
                for (int rep = 0; rep < 4; rep++) {
                    Batch m = nextBatch(r);
                    float[] in = f.tokens(r, m.tokens()), pool = f.pool(r, SLOTS);
                    Result want = run(sc, f, in, m, pool), got = run(si, f, in, m, pool);
                    String what = f + " batch " + java.util.Arrays.toString(m.qsl()) + " slots "
                            + java.util.Arrays.toString(m.slots());
                    if (simdOutTolerance(f.dt) == 0) {
                        assertBitEqual(what + " out", want.out(), got.out());
                    } else {
                        assertOut(what, want.out(), got.out(), f.outWidth(), m, simdOutTolerance(f.dt));
                    }
                    if (simdStateTolerance() == 0) {
                        assertBitEqual(what + " state", want.pool(), got.pool());
                    } else {
                        assertPool(what, pool, want.pool(), got.pool(), f.slotSize(), m.slots(), simdStateTolerance());
                    }
                }
            }
        }
    }

    @Test
    void simdFormIsBitIdenticalForAnyThreadCount() {
        SplittableRandom r = new SplittableRandom(13);
        try (CpuBackend one = simd(1); CpuBackend two = simd(2); CpuBackend seven = simd(7)) {
            for (Fixture f : fixtures()) {
                Batch m = nextBatch(r);
                float[] in = f.tokens(r, m.tokens()), pool = f.pool(r, SLOTS);
                Result a = run(one, f, in, m, pool);
                for (CpuBackend b : new CpuBackend[] {two, seven}) {
                    Result c = run(b, f, in, m, pool);
                    assertBitEqual(f + " out, " + b.context().threads() + " threads", a.out(), c.out());
                    assertBitEqual(f + " state, " + b.context().threads() + " threads", a.pool(), c.pool());
                }
            }
        }
    }

    @Test
    void emptyBatchTouchesNothing() {
        SplittableRandom r = new SplittableRandom(14);
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (Fixture f : fixtures()) {
                float[] pool = f.pool(r, SLOTS);
                Batch m = decodeOp() ? Batch.decode(new int[0]) : Batch.of(new int[0], new int[0], new int[0]);
                for (CpuBackend b : new CpuBackend[] {sc, si}) {
                    Result got = run(b, f, new float[0], m, pool);
                    assertEquals(0, got.out().length);
                    assertBitEqual(f + " state after an empty batch", pool, got.pool());
                }
            }
        }
    }
}
