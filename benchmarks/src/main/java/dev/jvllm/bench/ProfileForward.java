package dev.jvllm.bench;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Where the time of a model's forward goes on the CPU backend: wraps the backend in a proxy that
 * times every call by method, linear by K×N (the CPU ops are synchronous), and prints the split of a
 * prefill and of the decode steps that follow, with the linear layers' bandwidth and flop rate and
 * the CPU backend's parallel regions (pool wake-ups) per step and per method.
 * Ops that layers call through a tensor's own backend (attention, rotary, the KV-cache write) and
 * the runner's own work show up as "other".
 *
 * <pre>ProfileForward --model DIR [--threads N] [--prompt-tokens 128] [--new-tokens 32] [--load-format auto|dummy]</pre>
 */
public final class ProfileForward {
    /** Per backend method: calls, nanoseconds, and for linear the weight bytes and flops. */
    private static final class Stat {
        long calls, nanos, regions;
        double bytes, flops;
    }

    private ProfileForward() {
    }

    private static final com.sun.management.OperatingSystemMXBean PROCESS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** The 1, 5 and 15 minute load averages (Linux), or "n/a". */
    private static String loadAverage() {
        try {
            return String.join(",", java.util.Arrays.copyOf(java.nio.file.Files.readString(Path.of("/proc/loadavg"))
                    .trim().split(" "), 3));
        } catch (java.io.IOException e) {
            return "n/a";
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Path dir = Path.of(a.getOrDefault("model", "."));
        int threads = Integer.parseInt(a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int promptTokens = Integer.parseInt(a.getOrDefault("prompt-tokens", "128"));
        int newTokens = Integer.parseInt(a.getOrDefault("new-tokens", "32"));
        ModelLoader.LoadFormat format = ModelLoader.LoadFormat.valueOf(a.getOrDefault("load-format", "auto")
                .toUpperCase(Locale.ROOT));
        Map<String, Stat> stats = new TreeMap<>();
        boolean[] on = {false};
        try (CpuBackend real = CpuBackend.create(BackendOptions.defaults().withThreads(threads))) {
            Backend timed = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                    (proxy, m, margs) -> {
                        long t0 = System.nanoTime();
                        long g0 = real.context().pool().regions();
                        Object r;
                        try {
                            r = m.invoke(real, margs);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                        if (on[0]) {
                            String key = m.getName();
                            List<Linear> linears = margs == null || margs.length != 1 ? List.of()
                                    : margs[0] instanceof Linear l ? List.of(l)
                                    : margs[0] instanceof List<?> ops ? ops.stream().map(Linear.class::cast).toList()
                                    : List.of();
                            if (!linears.isEmpty()) { // "linear 2048x2048" or "linears 2048x2048+512+512"
                                key = m.getName() + " " + linears.getFirst().weight().inFeatures() + "x" + linears.stream()
                                        .map(l -> String.valueOf(l.weight().outFeatures())).collect(Collectors.joining("+"));
                            }
                            Stat s = stats.computeIfAbsent(key, k -> new Stat());
                            s.calls++;
                            s.nanos += System.nanoTime() - t0;
                            s.regions += real.context().pool().regions() - g0;
                            for (Linear l : linears) {
                                for (Tensor w : l.weight().tensors()) {
                                    s.bytes += (double) w.numel() * w.dtype().byteSize();
                                }
                                s.flops += 2.0 * l.x().dim(0) * l.weight().inFeatures() * l.weight().outFeatures();
                            }
                        }
                        return r;
                    });
            try (CausalLM m = ModelLoader.load(dir, timed, ParallelConfig.single(), DType.F32, null, format);
                 SimpleRunner runner = new SimpleRunner(m, promptTokens + newTokens + 1)) {
                int vocab = m.context().config().vocabSize();
                int[] prompt = new int[promptTokens];
                for (int i = 0; i < promptTokens; i++) {
                    prompt[i] = (int) ((i * 7919L + 13) % vocab);
                }
                runner.greedy(prompt, 4); // warm-up: JIT
                long[] marks = new long[newTokens];
                long[] regions = new long[newTokens];
                long[] cpu = new long[newTokens];
                on[0] = true;
                long t0 = System.nanoTime();
                long r0 = real.context().pool().regions();
                long c0 = PROCESS.getProcessCpuTime();
                runner.generate(prompt, newTokens, (logits, step) -> {
                    marks[step] = System.nanoTime();
                    regions[step] = real.context().pool().regions();
                    cpu[step] = PROCESS.getProcessCpuTime();
                    if (step == 0) {
                        report("prefill of " + promptTokens + " tokens", stats, marks[0] - t0, 1, regions[0] - r0,
                                (cpu[0] - c0) / threads);
                        stats.clear();
                    }
                    return 0;
                });
                report("decode, " + (newTokens - 1) + " steps", stats, marks[newTokens - 1] - marks[0], newTokens - 1,
                        regions[newTokens - 1] - regions[0], (cpu[newTokens - 1] - cpu[0]) / threads);
            }
        }
    }

    /** cpuNanos: the process's CPU time over the span divided by the thread count (= wall time on a machine of its own). */
    private static void report(String what, Map<String, Stat> stats, long wallNanos, int steps, long regions,
            long cpuNanos) {
        System.out.printf(Locale.ROOT, "%n%s: %.1f ms per step (wall), %.1f ms (CPU time / threads), %.1f parallel "
                + "regions per step, load %s%n", what, wallNanos / 1e6 / steps, cpuNanos / 1e6 / steps,
                (double) regions / steps, loadAverage());
        long inOps = stats.values().stream().mapToLong(s -> s.nanos).sum();
        stats.entrySet().stream().sorted(Comparator.comparingLong(e -> -e.getValue().nanos)).forEach(e -> {
            Stat s = e.getValue();
            String extra = s.bytes > 0 ? String.format(Locale.ROOT, "  %6.2f GB/s weights  %7.1f GFLOP/s",
                    s.bytes / s.nanos, s.flops / s.nanos) : "";
            System.out.printf(Locale.ROOT, "  %-30s %6d calls %6d regions %9.2f ms/step %5.1f%%%s%n", e.getKey(),
                    s.calls / steps, s.regions / steps, s.nanos / 1e6 / steps, 100.0 * s.nanos / wallNanos, extra);
        });
        long regionsInOps = stats.values().stream().mapToLong(s -> s.regions).sum();
        System.out.printf(Locale.ROOT, "  %-30s              %6d regions %9.2f ms/step (not in backend calls)%n", "other",
                (regions - regionsInOps) / steps, (wallNanos - inOps) / 1e6 / steps);
    }
}
