package dev.jvllm.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.conformance.Conformance.CaseResult;
import dev.jvllm.conformance.Conformance.Status;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The suite must be able to fail: each test wraps the CPU backend so that one op is subtly wrong
 * (the way real kernels go wrong) and expects the op's spec to report FAIL.
 *
 * <p>Each test first runs a control: the same wrapper without the fault, which must pass every
 * case, so a FAIL of the broken run is caused by the fault and nothing else. A test is skipped
 * (with the reason) while the op's spec or its CPU kernel has not landed yet.
 */
class BrokenBackendsTest {
    /** Generated cases per run: enough for the generators to reach GQA, windows, biases, spare slots. */
    private static final int EXAMPLES = 60;
    private static final long SEED = 42L;

    /**
     * Runs the op's spec on the control and on the broken backend (both over a CPU SIMD backend,
     * compared with another CPU SIMD backend) and returns the broken run's failures.
     *
     * @param expect text that some failure message must contain (null: any failure will do)
     */
    private static List<CaseResult> expectCaught(OpKind op, String fault, Function<Backend, Backend> breaker,
            String expect) {
        OpSpec<?> spec = Specs.of(op);
        assumeTrue(spec != null, () -> "no conformance spec for " + op.id() + " yet (" + Specs.className(op)
                + "); this test runs once it lands");
        try (Backend reference = CpuBackend.create();
                Backend control = new DelegatingBackend(CpuBackend.create());
                Backend broken = breaker.apply(CpuBackend.create())) {
            List<CaseResult> ok = Conformance.check(spec, control, reference, EXAMPLES, SEED, null);
            assumeTrue(ok.stream().anyMatch(r -> r.status() == Status.PASS), () -> "the cpu backend supports no case"
                    + " of " + op.id() + " yet (kernel not landed?): " + ok);
            List<CaseResult> controlFails = ok.stream().filter(r -> r.status() == Status.FAIL).toList();
            if (!controlFails.isEmpty()) {
                fail("control: the unbroken CPU backend fails " + spec.getClass().getSimpleName()
                        + " against itself, so the broken run proves nothing: " + controlFails);
            }
            List<CaseResult> rs = Conformance.check(spec, broken, reference, EXAMPLES, SEED, null);
            List<CaseResult> fails = rs.stream().filter(r -> r.status() == Status.FAIL).toList();
            assertTrue(!fails.isEmpty(), () -> spec.getClass().getSimpleName() + " did not catch a backend with "
                    + fault + " in " + rs.size() + " cases (seed " + SEED + "): its generator may never produce the"
                    + " shape that exposes it; cases run: " + rs.stream().map(CaseResult::name).toList());
            if (expect != null) {
                assertTrue(fails.stream().anyMatch(f -> f.message().contains(expect)), () -> "caught " + fault
                        + ", but no failure message mentions \"" + expect + "\": " + fails);
            }
            System.out.println("[broken] " + op.id() + " with " + fault + " caught: " + fails.getLast().name() + ": "
                    + fails.getLast().message());
            return fails;
        }
    }

    // ---- paged attention ----

    /** Sliding window one token too wide: attends to W+1 keys (current + W earlier) instead of W. */
    static final class SlidingWindowOffByOne extends DelegatingBackend {
        SlidingWindowOffByOne(Backend d) {
            super(d);
        }

        @Override
        public void pagedAttention(PagedAttention a) {
            delegate.pagedAttention(new PagedAttention(a.q(), a.kCache(), a.vCache(), a.out(), a.queryStartLoc(),
                    a.seqLens(), a.blockTables(), a.numHeads(), a.numKvHeads(), a.headSize(), a.scale(),
                    a.slidingWindow() > 0 ? a.slidingWindow() + 1 : 0, a.softCap(), a.maxQueryLen(), a.maxSeqLen()));
        }
    }

    @Test
    void slidingWindowOffByOneIsCaught() {
        expectCaught(OpKind.PAGED_ATTENTION, "an off-by-one sliding window", SlidingWindowOffByOne::new, null);
    }

    /**
     * Query head h reads KV head {@code h % numKvHeads} instead of {@code h / (numHeads/numKvHeads)}
     * (the classic interleaved-vs-grouped mix-up; identical when there is 1 KV head or no grouping).
     * Built from the correct op by permuting q's heads before and out's heads after.
     */
    static final class GqaHeadMappingWrong extends DelegatingBackend {
        GqaHeadMappingWrong(Backend d) {
            super(d);
        }

        @Override
        public void pagedAttention(PagedAttention a) {
            int hq = a.numHeads(), hk = a.numKvHeads(), d = a.headSize(), g = hq / hk, t = a.q().dim(0);
            // the correct op gives position p KV head p / g; put head h at p = (h % hk)·g + h / hk
            int[] pos = new int[hq];
            for (int h = 0; h < hq; h++) {
                pos[h] = (h % hk) * g + h / hk;
            }
            float[] q = Tensors.toFloats(a.q()); // q: [T, hq·d]
            float[] qp = new float[q.length];
            for (int r = 0; r < t; r++) {
                for (int h = 0; h < hq; h++) {
                    System.arraycopy(q, (r * hq + h) * d, qp, (r * hq + pos[h]) * d, d);
                }
            }
            try (Tensor qt = Tensors.fromFloats(delegate, a.q().dtype(), qp, t, hq * d);
                    Tensor ot = delegate.allocate(a.out().dtype(), t, hq * d)) {
                delegate.pagedAttention(new PagedAttention(qt, a.kCache(), a.vCache(), ot, a.queryStartLoc(),
                        a.seqLens(), a.blockTables(), hq, hk, d, a.scale(), a.slidingWindow(), a.softCap(),
                        a.maxQueryLen(), a.maxSeqLen()));
                float[] o = Tensors.toFloats(ot);
                float[] out = new float[o.length];
                for (int r = 0; r < t; r++) {
                    for (int h = 0; h < hq; h++) {
                        System.arraycopy(o, (r * hq + pos[h]) * d, out, (r * hq + h) * d, d);
                    }
                }
                Tensors.writeFloats(a.out(), out); // exact: values are already in out's dtype
            }
        }
    }

    @Test
    void wrongGqaHeadMappingIsCaught() {
        expectCaught(OpKind.PAGED_ATTENTION, "a wrong GQA head mapping (h % kvHeads)", GqaHeadMappingWrong::new, null);
    }

    // ---- linear ----

    /** Forgets the bias. */
    static final class DroppedBias extends DelegatingBackend {
        DroppedBias(Backend d) {
            super(d);
        }

        @Override
        public void linear(Linear a) {
            delegate.linear(new Linear(a.x(), a.weight(), null, a.out()));
        }
    }

    @Test
    void droppedBiasIsCaught() {
        expectCaught(OpKind.LINEAR, "a dropped bias", DroppedBias::new, null);
    }

    /** Writes one element past the end of the output's last row (a tail loop that runs one too far). */
    static final class WritesPastTheOutput extends DelegatingBackend {
        WritesPastTheOutput(Backend d) {
            super(d);
        }

        @Override
        public void linear(Linear a) {
            delegate.linear(a);
            Tensor o = a.out();
            if (o.rows() > 0) {
                long past = o.layout().rowByteOffset(o.rows() - 1) + (long) o.cols() * o.dtype().byteSize();
                CpuTensor.of(o).storage().set(ValueLayout.JAVA_BYTE, past, (byte) 0);
            }
        }
    }

    @Test
    void writingOutsideTheOutputIsCaughtByTheGuards() {
        expectCaught(OpKind.LINEAR, "a write past the output (guard violation)", WritesPastTheOutput::new, "guard");
    }

    // ---- norms ----

    /** Puts a NaN in the middle of the rms_norm output. */
    static final class InjectsNaN extends DelegatingBackend {
        InjectsNaN(Backend d) {
            super(d);
        }

        @Override
        public void rmsNorm(RmsNorm a) {
            delegate.rmsNorm(a);
            float[] v = Tensors.toFloats(a.out());
            if (v.length > 0) {
                v[v.length / 2] = Float.NaN;
                Tensors.writeFloats(a.out(), v);
            }
        }
    }

    @Test
    void nanInTheOutputIsCaught() {
        expectCaught(OpKind.RMS_NORM, "a NaN injected into the output", InjectsNaN::new, "NaN");
    }

    // ---- state ----

    /** Treats every sequence as continuing from its slot (ignores hasInitialState = 0: stale state). */
    static final class IgnoresHasInitialState extends DelegatingBackend {
        IgnoresHasInitialState(Backend d) {
            super(d);
        }

        @Override
        public void selectiveScan(SelectiveScan a) {
            StateBatch b = a.batch();
            int[] ones = new int[b.numSeqs()];
            Arrays.fill(ones, 1);
            try (Tensor all = Tensors.fromInts(delegate, ones, ones.length)) {
                delegate.selectiveScan(new SelectiveScan(a.u(), a.delta(), a.A(), a.B(), a.C(), a.Dskip(), a.z(),
                        a.deltaBias(), a.deltaSoftplus(), a.ssmStates(),
                        new StateBatch(b.queryStartLoc(), b.stateIndices(), all), a.out()));
            }
        }
    }

    @Test
    void staleStateFromIgnoringHasInitialStateIsCaught() {
        expectCaught(OpKind.SELECTIVE_SCAN, "stale state (hasInitialState ignored)", IgnoresHasInitialState::new, null);
    }

    /** Computes the output but never writes the final conv state back to its slot. */
    static final class ForgetsStateWriteBack extends DelegatingBackend {
        ForgetsStateWriteBack(Backend d) {
            super(d);
        }

        @Override
        public void causalConv1d(CausalConv1d a) {
            byte[] before = Tensors.toBytes(a.convStates());
            delegate.causalConv1d(a);
            delegate.write(a.convStates(), MemorySegment.ofArray(before));
        }
    }

    @Test
    void stateNotWrittenBackIsCaught() {
        expectCaught(OpKind.CAUSAL_CONV1D, "no conv-state write-back", ForgetsStateWriteBack::new, null);
    }

    /** Flips the lowest bit of the first element of the first state slot no sequence uses. */
    static final class TouchesAnUnusedSlot extends DelegatingBackend {
        TouchesAnUnusedSlot(Backend d) {
            super(d);
        }

        @Override
        public void causalConv1dUpdate(CausalConv1dUpdate a) {
            delegate.causalConv1dUpdate(a);
            Set<Integer> used = Arrays.stream(Tensors.toInts(a.stateIndices())).boxed().collect(Collectors.toSet());
            flipFirstUnused(a.convStates(), used);
        }

        @Override
        public void kvCacheWrite(KvCacheWrite a) {
            delegate.kvCacheWrite(a);
            int blockSize = a.kCache().dim(1);
            Set<Integer> used = new HashSet<>();
            for (int s : Tensors.toInts(a.slotMapping())) {
                if (s >= 0) {
                    used.add(s / blockSize);
                }
            }
            flipFirstUnused(a.kCache(), used);
        }

        /** state: [S, ...] contiguous; flips bit 0 of slot s's first byte for the first s not in used. */
        private static void flipFirstUnused(Tensor state, Set<Integer> used) {
            int slots = state.dim(0);
            long slotBytes = slots == 0 ? 0 : state.numel() * state.dtype().byteSize() / slots;
            for (int s = 0; s < slots; s++) {
                if (!used.contains(s)) {
                    MemorySegment seg = CpuTensor.of(state).storage();
                    long at = state.layout().byteOffset() + s * slotBytes;
                    seg.set(ValueLayout.JAVA_BYTE, at, (byte) (seg.get(ValueLayout.JAVA_BYTE, at) ^ 1));
                    return;
                }
            }
        }
    }

    @Test
    void touchingAnUntouchedStateSlotIsCaught() {
        expectCaught(OpKind.CAUSAL_CONV1D_UPDATE, "a write to a state slot outside the batch", TouchesAnUnusedSlot::new,
                null);
    }

    @Test
    void touchingAnUntouchedCacheBlockIsCaught() {
        expectCaught(OpKind.KV_CACHE_WRITE, "a write to a cache block no token maps to", TouchesAnUnusedSlot::new, null);
    }
}
