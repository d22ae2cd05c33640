package dev.jvllm.conformance.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Conformance.CaseResult;
import dev.jvllm.conformance.Conformance.Status;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.HashSet;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The linear spec passes the SIMD CPU form against the scalar form, and fails candidates that are
 * wrong in ways a real backend gets wrong: a dropped bias, activation quantization skipped, one
 * activation scale per token where the weight asks for token groups, int4 zero points ignored,
 * per-channel fp8 scales read as one per-tensor scale.
 */
class LinearSpecTest {
    private static final CpuBackend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    private static final CpuBackend SIMD = CpuBackend.create(BackendOptions.defaults().with("scalar", "false"));

    @AfterAll
    static void close() {
        SCALAR.close();
        SIMD.close();
    }

    @Test
    void foundByConvention() {
        assertInstanceOf(LinearSpec.class, Specs.of(OpKind.LINEAR));
    }

    @Test
    void simdFormMatchesScalarForm() {
        List<CaseResult> rs = Conformance.check(new LinearSpec(), SIMD, SCALAR, 30, 42L, null);
        assertTrue(rs.stream().noneMatch(r -> r.status() == Status.FAIL), failures(rs));
        long pass = rs.stream().filter(r -> r.status() == Status.PASS).count();
        assertTrue(pass >= 20, "only " + pass + " cases passed: " + rs);
        assertEquals(rs.size(), new HashSet<>(rs.stream().map(CaseResult::name).toList()).size(), "case names are unique");
        // every format appears among the pinned and generated cases that ran
        long formats = rs.stream().map(CaseResult::dtype).distinct().count();
        assertTrue(formats >= 8, "formats seen: " + rs.stream().map(CaseResult::dtype).distinct().toList());
    }

    @Test
    void aDroppedBiasFails() {
        assertFailsWith(a -> a.bias() == null ? a : new Linear(a.x(), a.weight(), null, a.out()));
    }

    @Test
    void skippingFp8ActivationQuantizationFails() {
        assertFailsWith(a -> a.weight() instanceof LinearWeight.Fp8 f && (f.dynamicPerToken() || f.inputScale() != null)
                ? new Linear(a.x(), new LinearWeight.Fp8(f.w(), f.scale(), f.blockN(), f.blockK(), null, false), a.bias(), a.out())
                : a);
    }

    @Test
    void oneScalePerTokenInsteadOfPerGroupFails() {
        assertFailsWith(a -> a.weight() instanceof LinearWeight.Fp8 f && f.activationGroupSize() > 0
                ? new Linear(a.x(), new LinearWeight.Fp8(f.w(), f.scale(), f.blockN(), f.blockK(), null, true), a.bias(), a.out())
                : a);
    }

    @Test
    void ignoringInt4ZeroPointsFails() {
        assertFailsWith(a -> a.weight() instanceof LinearWeight.Int4 q && q.zeros() != null
                ? new Linear(a.x(), new LinearWeight.Int4(q.qweight(), q.scales(), null, q.gIdx(), q.groupSize()), a.bias(), a.out())
                : a);
    }

    @Test
    void readingPerChannelFp8ScalesAsPerTensorFails() {
        assertFailsWith(a -> a.weight() instanceof LinearWeight.Fp8 f && f.blockN() <= 0 && f.scale().numel() > 1
                ? new Linear(a.x(), new LinearWeight.Fp8(f.w(), f.scale().slice(0, 1), 0, 0, f.inputScale(), f.dynamicPerToken()),
                        a.bias(), a.out())
                : a);
    }

    /** Runs the spec on the SIMD backend with its linear args rewritten by {@code broken}: some case must FAIL. */
    private static void assertFailsWith(UnaryOperator<Linear> broken) {
        Backend candidate = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (args != null && args.length == 1 && args[0] instanceof Linear a && !m.getName().equals("supports")) {
                        SIMD.linear(broken.apply(a));
                        return null;
                    }
                    try {
                        return m.invoke(SIMD, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        List<CaseResult> rs = Conformance.check(new LinearSpec(), candidate, SCALAR, 10, 42L, null);
        assertTrue(rs.stream().anyMatch(r -> r.status() == Status.FAIL && r.message().contains("out")),
                "the broken candidate passed every case: " + rs);
    }

    private static String failures(List<CaseResult> rs) {
        return rs.stream().filter(r -> r.status() == Status.FAIL).map(r -> r.name() + ": " + r.message()).limit(5)
                .toList().toString();
    }
}
