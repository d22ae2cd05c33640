package dev.jvllm.conformance.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.cpu.CpuBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.function.Consumer;

/**
 * What every spec test needs: the two CPU forms, a backend that replaces one op (deliberately
 * broken candidates, or independent host implementations that must pass), and failure summaries.
 * The family supports extend it, so their static imports see these methods too.
 */
class SpecTestSupport {
    SpecTestSupport() {
    }

    static CpuBackend simd() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "false"));
    }

    static CpuBackend scalar() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    }

    /** {@code target}, except that ops of {@code type} run {@code replacement} (via their method and via run). */
    static <A extends OpArgs> Backend replacing(Backend target, Class<A> type, Consumer<A> replacement) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (args != null && args.length == 1 && type.isInstance(args[0]) && !m.getName().equals("supports")) {
                        replacement.accept(type.cast(args[0]));
                        return null;
                    }
                    try {
                        return m.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** The first few FAIL results, for assertion messages. */
    static String failures(List<Conformance.CaseResult> rs) {
        return rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).map(r -> r.name() + ": " + r.message())
                .limit(5).toList().toString();
    }
}
