package dev.jvllm.conformance.ops;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.cpu.CpuBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.function.Consumer;

/** Shared pieces of the sampling spec tests: the two CPU forms, a broken-backend wrapper, assertions. */
final class SamplingSpecSupport {
    private SamplingSpecSupport() {
    }

    static CpuBackend simd() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "false"));
    }

    static CpuBackend scalar() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    }

    /**
     * A backend that behaves like {@code target} except that ops of {@code type} run {@code wrong}
     * instead (through the op's own method and through {@link Backend#run}).
     */
    static <A extends OpArgs> Backend overriding(Backend target, Class<A> type, Consumer<A> wrong) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (args != null && args.length == 1 && type.isInstance(args[0])
                            && !m.getName().equals("supports")) {
                        wrong.accept(type.cast(args[0]));
                        return null;
                    }
                    try {
                        return m.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    static String failures(List<Conformance.CaseResult> rs) {
        return rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).map(r -> r.name() + ": " + r.message())
                .limit(5).toList().toString();
    }

    /** The CPU SIMD form against the CPU scalar form: no FAIL, and enough PASS that it cannot pass vacuously. */
    static <C> void simdMatchesScalar(OpSpec<C> spec) {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            List<Conformance.CaseResult> rs = Conformance.check(spec, si, sc, 30, 42L, null);
            assertEquals(0, rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).count(), failures(rs));
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.PASS).count() >= 20,
                    "too few passing cases: " + rs);
            assertEquals(rs.size(), rs.stream().map(Conformance.CaseResult::name).distinct().count(), "names are unique");
        }
    }

    /** A broken candidate must be reported as FAIL (pinned cases and 10 generated ones, to keep tests fast). */
    static <C> List<Conformance.CaseResult> assertFails(OpSpec<C> spec, Backend broken, Backend reference) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, broken, reference, 10, 42L, null);
        assertTrue(rs.stream().anyMatch(r -> r.status() == Conformance.Status.FAIL),
                "a broken " + spec.op().id() + " passed: " + rs);
        return rs;
    }
}
