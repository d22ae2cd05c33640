package dev.jvllm.conformance.ops;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.cpu.CpuBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.function.BiConsumer;

/** Shared by the stateful op spec tests: the two CPU forms, broken-candidate wrappers, assertions. */
final class ScanSpecSupport {
    static final int EXAMPLES = 30;
    static final long SEED = 42L;

    private ScanSpecSupport() {
    }

    static CpuBackend simd() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "false"));
    }

    static CpuBackend scalar() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    }

    /**
     * A backend like {@code target} except that ops of {@code type} run {@code wrong(target, args)}
     * instead (through the op's method and through {@link Backend#run}); {@code wrong} usually calls
     * the real op with subtly altered arguments.
     */
    static <A extends OpArgs> Backend overriding(Backend target, Class<A> type, BiConsumer<Backend, A> wrong) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (args != null && args.length == 1 && type.isInstance(args[0])
                            && !m.getName().equals("supports")) {
                        wrong.accept(target, type.cast(args[0]));
                        return null;
                    }
                    try {
                        return m.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** The batch with every hasInitialState forced to 1: a candidate that reads stale state. */
    static StateBatch alwaysContinue(Backend b, StateBatch s) {
        int n = s.numSeqs();
        int[] ones = new int[n];
        java.util.Arrays.fill(ones, 1);
        return new StateBatch(s.queryStartLoc(), s.stateIndices(), Tensors.fromInts(b, ones, n));
    }

    /** stateIndices with the first −1 replaced by an unused slot: a candidate that runs padded rows. */
    static Tensor runPadding(Backend b, Tensor stateIndices, int slots) {
        int[] idx = Tensors.toInts(stateIndices);
        boolean[] used = new boolean[slots];
        for (int s : idx) {
            if (s >= 0) {
                used[s] = true;
            }
        }
        int free = 0;
        while (free < slots && used[free]) {
            free++;
        }
        for (int i = 0; i < idx.length && free < slots; i++) {
            if (idx[i] == -1) {
                idx[i] = free;
                break;
            }
        }
        return Tensors.fromInts(b, idx, idx.length);
    }

    static String failures(List<Conformance.CaseResult> rs) {
        return rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).map(r -> r.name() + ": " + r.message())
                .limit(5).toList().toString();
    }

    /** The CPU SIMD form against the CPU scalar form: no FAIL, and enough PASS that it cannot pass vacuously. */
    static <C> void simdMatchesScalar(OpSpec<C> spec) {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            List<Conformance.CaseResult> rs = Conformance.check(spec, si, sc, EXAMPLES, SEED, null);
            assertEquals(0, rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).count(), failures(rs));
            long pass = rs.stream().filter(r -> r.status() == Conformance.Status.PASS).count();
            assertTrue(pass >= 20, "too few passing cases (" + pass + "): " + rs);
        }
    }

    /** The suite reports at least one FAIL for a broken candidate, and the failing case names {@code expected}. */
    static <C> void assertCaught(OpSpec<C> spec, Backend broken, Backend reference, String expected) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, broken, reference, EXAMPLES, SEED, null);
        List<Conformance.CaseResult> fails = rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).toList();
        assertFalse(fails.isEmpty(), "the broken candidate passed every case: " + rs);
        assertTrue(fails.stream().anyMatch(r -> (r.name() + r.message()).contains(expected)),
                "no failure mentions " + expected + ": " + failures(rs));
    }
}
