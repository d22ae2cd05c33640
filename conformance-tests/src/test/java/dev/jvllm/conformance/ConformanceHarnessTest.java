package dev.jvllm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Scale;
import dev.jvllm.conformance.Conformance.CaseResult;
import dev.jvllm.conformance.Conformance.Status;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Tests of the harness itself (Conformance, SuiteRunner, Report, Perf, Comparison) with the
 * test-only {@link ToyScaleSpec} on host-computed backends, so they do not depend on any kernel.
 */
class ConformanceHarnessTest {
    private static final ToyScaleSpec SPEC = new ToyScaleSpec();
    private final List<Backend> open = new ArrayList<>();

    private ToyScaleSpec.HostScale host() {
        ToyScaleSpec.HostScale b = new ToyScaleSpec.HostScale(CpuBackend.create(BackendOptions.defaults().withThreads(1)));
        open.add(b);
        return b;
    }

    private <B extends Backend> B track(B b) {
        open.add(b);
        return b;
    }

    @AfterEach
    void close() {
        open.forEach(Backend::close);
    }

    /** Wrong by +1 in the last element when T >= 3 and H >= 41, so the smallest failing case is T=3, H=41. */
    static final class WrongWhenWide extends ToyScaleSpec.HostScale {
        WrongWhenWide(Backend d) {
            super(d);
        }

        @Override
        public void scale(Scale a) {
            super.scale(a);
            if (a.x().dim(0) >= 3 && a.x().dim(1) >= 41) {
                float[] v = Tensors.toFloats(a.out());
                v[v.length - 1] += 1;
                Tensors.writeFloats(a.out(), v);
            }
        }
    }

    @Test
    void passingCandidateReportsPinnedThenGeneratedDedupedByName() {
        List<CaseResult> streamed = new ArrayList<>();
        List<CaseResult> rs = Conformance.check(SPEC, host(), host(), 30, 42L, streamed::add);
        assertEquals(rs, streamed, "the sink sees every result once, in order");
        assertEquals("scale[T=1,H=1,f32]", rs.get(0).name());
        assertEquals("scale[T=2,H=3,bf16]", rs.get(1).name());
        assertTrue(rs.stream().noneMatch(r -> r.status() == Status.FAIL), rs::toString);
        assertTrue(rs.stream().filter(r -> r.status() == Status.PASS).count() > 5, rs::toString);
        assertTrue(rs.stream().anyMatch(r -> r.status() == Status.UNSUPPORTED && r.dtype().equals("f16")), rs::toString);
        Set<String> names = new HashSet<>();
        rs.forEach(r -> assertTrue(names.add(r.name()), "duplicate " + r.name()));
        assertTrue(rs.size() <= 2 + 30, "at most pinned + examples results, got " + rs.size());
    }

    @Test
    void generatedFailureIsShrunkToOneReadableFailEntryWithTheSeed() {
        List<CaseResult> rs = Conformance.check(SPEC, track(new WrongWhenWide(CpuBackend.create())), host(), 50, 42L,
                null);
        List<CaseResult> fails = rs.stream().filter(r -> r.status() == Status.FAIL).toList();
        assertEquals(1, fails.size(), rs::toString);
        CaseResult f = rs.getLast();
        assertEquals(Status.FAIL, f.status());
        assertEquals("scale[T=3,H=41,f32]", f.name(), f.message());
        assertTrue(f.message().contains("seed 42"), f.message());
        assertTrue(f.message().contains("Case[rows=3, cols=41, dtype=F32]"), f.message());
        assertTrue(f.message().contains("out: element 122"), f.message()); // the last of 3*41
        assertFalse(f.message().contains("\tat "), "no stack trace in the message: " + f.message());
        // shrink attempts are not reported as generated cases
        assertTrue(rs.size() <= 2 + 50 + 1, "got " + rs.size());
    }

    @Test
    void sameSeedSameCasesAndOtherSeedOtherCases() {
        List<String> a = Conformance.check(SPEC, host(), host(), 20, 7L, null).stream().map(CaseResult::name).toList();
        List<String> b = Conformance.check(SPEC, host(), host(), 20, 7L, null).stream().map(CaseResult::name).toList();
        List<String> c = Conformance.check(SPEC, host(), host(), 20, 8L, null).stream().map(CaseResult::name).toList();
        assertEquals(a, b);
        assertFalse(a.equals(c), "seed 8 drew the same cases as seed 7");
    }

    @Test
    void writingOutsideTheOutputIsAGuardViolation() {
        Backend broken = track(new ToyScaleSpec.HostScale(CpuBackend.create()) {
            @Override
            public void scale(Scale a) {
                super.scale(a);
                Tensor o = a.out();
                long past = o.layout().rowByteOffset(o.rows() - 1) + (long) o.cols() * o.dtype().byteSize();
                CpuTensor.of(o).storage().set(ValueLayout.JAVA_BYTE, past, (byte) 0);
            }
        });
        CaseResult r = Conformance.runCase(SPEC, new ToyScaleSpec.Case(2, 5, DType.F32), broken, host(), 1L);
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("guard"), r.message());
    }

    @Test
    void anElementNeverWrittenKeepsItsCanaryAndFails() {
        Backend broken = track(new ToyScaleSpec.HostScale(CpuBackend.create()) {
            @Override
            public void scale(Scale a) {
                float[] v = Tensors.toFloats(a.x());
                float[] o = Tensors.toFloats(a.out()); // canaries
                for (int i = 0; i < v.length - 1; i++) {
                    o[i] = v[i] * a.factor();
                }
                Tensors.writeFloats(a.out(), o);
            }
        });
        CaseResult r = Conformance.runCase(SPEC, new ToyScaleSpec.Case(1, 9, DType.BF16), broken, host(), 1L);
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("element 8"), r.message());
    }

    @Test
    void aCandidateThatClaimsSupportButThrowsFails() {
        Backend broken = track(new ToyScaleSpec.HostScale(CpuBackend.create()) {
            @Override
            public void scale(Scale a) {
                throw new UnsupportedOperationException("not yet");
            }
        });
        CaseResult r = Conformance.runCase(SPEC, new ToyScaleSpec.Case(1, 1, DType.F32), broken, host(), 1L);
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("although supports() said yes"), r.message());
    }

    @Test
    void caseFilterRunsOnlyMatchingNamesAndStillFindsEnough() {
        Predicate<String> bf16 = n -> n.contains("bf16");
        var outs = Conformance.run(SPEC, host(), host(), 15, 42L, bf16, null);
        assertTrue(outs.stream().allMatch(o -> o.result().name().contains("bf16")), outs::toString);
        assertTrue(outs.size() >= 10, "a rare filter still draws enough examples, got " + outs.size());
        // the shrunk failure stays inside the filter too
        var fails = Conformance.run(SPEC, track(new WrongWhenWide(CpuBackend.create())), host(), 40, 42L, bf16, null)
                .stream().filter(o -> o.result().status() == Status.FAIL).toList();
        assertEquals(1, fails.size());
        assertEquals("scale[T=3,H=41,bf16]", fails.getFirst().result().name());
    }

    @Test
    void measuresAreRelativeToTheTolerance() {
        Backend b = host();
        Tensor r = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4}, 4);
        Tensor c = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4.004f}, 4);
        Comparison.Measure close = Comparison.measure("o", r, c, Tolerance.close(0, 1e-2));
        assertEquals("close", close.metric());
        assertEquals(0.004, close.value(), 1e-6);
        assertEquals(0.1, close.ratio(), 1e-3);
        Comparison.Measure nmse = Comparison.measure("o", r, c, Tolerance.nmse(1e-6));
        assertEquals(0.004 * 0.004 / 30, nmse.value(), 1e-9);
        Comparison.Measure bits = Comparison.measure("o", r, c, Tolerance.BIT_EXACT);
        assertEquals(1, bits.value());
        assertEquals(Double.POSITIVE_INFINITY, bits.ratio());
        assertEquals(0, Comparison.measure("o", r, r, Tolerance.BIT_EXACT).ratio());
        assertTrue(close.describe().contains("max |Δ| 0.004"), close.describe());
        r.close();
        c.close();
    }

    private static OpSpec<?> toyOnly(OpKind k) {
        return k == OpKind.SCALE ? SPEC : null;
    }

    @Test
    void suiteCountsMissingSpecsAsFailuresAndReportsTheMatrix() {
        SuiteRunner.Options o = SuiteRunner.Options.defaults().withOps("scale,norm").withExamples(10).withSeed(3);
        List<OpKind> started = new ArrayList<>();
        SuiteRunner.Result r = SuiteRunner.run(host(), host(), null, o, new SuiteRunner.Listener() {
            @Override
            public void opStarted(OpKind op) {
                started.add(op);
            }
        }, ConformanceHarnessTest::toyOnly);
        assertEquals(List.of(OpKind.SCALE, OpKind.RMS_NORM, OpKind.LAYER_NORM, OpKind.GATED_RMS_NORM), started);
        assertEquals(0, r.failed());
        assertEquals(3, r.missing());
        assertFalse(r.ok(), "a missing spec fails the suite");
        SuiteRunner.OpResult scale = r.ops().getFirst();
        assertTrue(scale.ok());
        assertNotNull(scale.worst());
        assertTrue(scale.worst().ratio() <= 1, scale.worst().describe());
        String md = Report.markdown(r);
        assertTrue(md.contains("**FAIL**"), md);
        assertTrue(md.contains("| scale | elementwise | ✅ pass (partial support) |"), md);
        assertTrue(md.contains("| rms_norm | norm | ❓ missing |"), md);
        assertTrue(md.contains("expected `RmsNormSpec`"), md);
        assertTrue(md.contains("| seed | 3 (reproduce with `--seed 3`) |"), md);
        assertFalse(md.contains("## Performance"), md);
    }

    @Test
    void aFailingSuiteReportsTheShrunkCaseAndHowToRerun() {
        SuiteRunner.Options o = SuiteRunner.Options.defaults().withOps("scale").withExamples(40);
        SuiteRunner.Result r = SuiteRunner.run(track(new WrongWhenWide(CpuBackend.create())), host(), null, o, null,
                ConformanceHarnessTest::toyOnly);
        assertEquals(1, r.failed());
        assertEquals(0, r.missing());
        assertFalse(r.ok());
        assertEquals("scale[T=3,H=41,f32]", r.failures().getFirst().name());
        String md = Report.markdown(r);
        assertTrue(md.contains("### scale: `scale[T=3,H=41,f32]` (f32)"), md);
        assertTrue(md.contains("Rerun: `--op scale --seed 42 --examples 40`"), md);
        assertTrue(md.contains("| scale | elementwise | ❌ fail |"), md);
    }

    @Test
    void perfModeTimesEverySupportedCase() {
        SuiteRunner.Options o = SuiteRunner.Options.defaults().withOps("scale").withExamples(5).withPerf(true)
                .withPerfSettings(new Perf.Settings(1, 2, 1_000_000L, 1000));
        SuiteRunner.Result r = SuiteRunner.run(host(), host(), null, o, null, ConformanceHarnessTest::toyOnly);
        SuiteRunner.OpResult scale = r.ops().getFirst();
        long supported = scale.cases().stream().filter(c -> c.status() != Status.UNSUPPORTED).count();
        assertEquals(supported, scale.timings().size());
        for (Perf.Timing t : scale.timings()) {
            assertNull(t.error(), t::toString);
            assertTrue(t.micros() > 0 && t.gflops() > 0 && t.gbps() > 0 && t.iterations() >= 2, t::toString);
        }
        String md = Report.markdown(r);
        assertTrue(md.contains("## Performance (candidate)"), md);
        assertTrue(md.contains("| scale | `scale[T=1,H=1,f32]` | f32 |"), md);
    }

    @Test
    void opFilterTakesIdsEnumNamesAndFamilies() {
        assertEquals(List.of(OpKind.RMS_NORM, OpKind.LAYER_NORM, OpKind.GATED_RMS_NORM), SuiteRunner.selectOps("norm"));
        assertEquals(List.of(OpKind.RMS_NORM, OpKind.KV_CACHE_WRITE, OpKind.PAGED_ATTENTION),
                SuiteRunner.selectOps("attention, RMS_NORM"));
        assertEquals(List.of(OpKind.PAGED_ATTENTION), SuiteRunner.selectOps("paged-attention"));
        assertEquals(OpKind.values().length, SuiteRunner.selectOps(null).size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SuiteRunner.selectOps("nrom"));
        assertTrue(e.getMessage().contains("\"nrom\"") && e.getMessage().contains("rms_norm"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SuiteRunner.Options.defaults().withCases("a[("));
    }

    /** A stand-in for CollectiveConformance with a static method of one plausible shape. */
    public static final class StaticCollectives {
        public static List<CaseResult> check(OpKind op, IntFunction<List<Backend>> group, int examples, long seed) {
            List<Backend> ranks = group.apply(2);
            try {
                return List.of(new CaseResult(op.id() + "[ranks=" + ranks.size() + ",n=" + examples + ",seed=" + seed
                        + "]", "f32", Status.PASS, ""));
            } finally {
                ranks.forEach(Backend::close);
            }
        }
    }

    /** A stand-in implementing the interface. */
    public static final class InterfaceCollectives implements SuiteRunner.CollectiveSuite {
        @Override
        public List<CaseResult> check(OpKind op, IntFunction<List<Backend>> candidateGroup,
                IntFunction<List<Backend>> referenceGroup, int examples, long seed, Predicate<String> caseFilter) {
            return List.of(new CaseResult(op.id() + "[a]", "f32", Status.PASS, ""),
                    new CaseResult(op.id() + "[b]", "bf16", Status.FAIL, "wrong sum"));
        }
    }

    @Test
    void collectivesHarnessIsCalledReflectively() {
        List<OpKind> ops = List.of(OpKind.ALL_REDUCE, OpKind.BROADCAST);
        assertNotNull(SuiteRunner.groupsOf("cpu", BackendOptions.defaults()));
        // unconnected single backends stand in for a group: only the plumbing is under test here
        IntFunction<List<Backend>> cpu = n -> java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> (Backend) CpuBackend.create(BackendOptions.defaults().withThreads(1))).toList();
        SuiteRunner.Options o = SuiteRunner.Options.defaults().withExamples(4).withSeed(9);
        Map<OpKind, List<CaseResult>> byOp = new LinkedHashMap<>();
        ops.forEach(k -> byOp.put(k, new ArrayList<>()));
        SuiteRunner.runCollective(StaticCollectives.class, ops, cpu, cpu, o, byOp);
        assertEquals("all_reduce[ranks=2,n=4,seed=9]", byOp.get(OpKind.ALL_REDUCE).getFirst().name());
        assertEquals("broadcast[ranks=2,n=4,seed=9]", byOp.get(OpKind.BROADCAST).getFirst().name());

        ops.forEach(k -> byOp.put(k, new ArrayList<>()));
        SuiteRunner.runCollective(InterfaceCollectives.class, ops, cpu, cpu, o.withCases("\\[b\\]"), byOp);
        assertEquals(2, byOp.get(OpKind.ALL_REDUCE).size(), "the interface filters by itself");
        assertEquals(Status.FAIL, byOp.get(OpKind.BROADCAST).get(1).status());

        IntFunction<List<Backend>> none = SuiteRunner.groupsOf("no-such-backend", BackendOptions.defaults());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> none.apply(2));
        assertTrue(e.getMessage().contains("no backend named \"no-such-backend\""), e.getMessage());
    }
}
