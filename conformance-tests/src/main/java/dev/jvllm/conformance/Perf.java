package dev.jvllm.conformance;

import dev.jvllm.api.Backend;

/**
 * Perf mode: times the conformance cases on the candidate, reporting µs per call and, from
 * {@link OpSpec#flops} and {@link OpSpec#bytes}, GFLOP/s and GB/s.
 *
 * <p>Each case is built once (same data as its conformance run), run {@link Settings#warmup()}
 * times, then timed in batches of doubling size until {@link Settings#minNanos()} has passed
 * (at least {@link Settings#minIterations()}, at most {@link Settings#maxIterations()} calls); the
 * backend is synchronized before the clock starts and after each batch, so asynchronous backends
 * are timed end to end. Stateful ops (caches, scan states) run repeatedly on their own output,
 * which changes the data but not the work.
 *
 * <p>The conformance cases are small (chosen to break kernels, not to load them), so the figures
 * show per-call overhead and small-shape efficiency; use {@code --case} to pick the larger ones.
 */
public final class Perf {
    private Perf() {
    }

    /**
     * How long to time each case.
     *
     * @param warmup        untimed calls first (JIT, caches, lazy kernel loading)
     * @param minIterations timed calls at least
     * @param minNanos      timed wall time at least
     * @param maxIterations timed calls at most (bounds tiny cases)
     */
    public record Settings(int warmup, int minIterations, long minNanos, int maxIterations) {
        /** 5 warmup calls, then at least 10 calls and 50 ms, at most 100 000 calls. */
        public static final Settings DEFAULT = new Settings(5, 10, 50_000_000L, 100_000);

        public Settings {
            if (warmup < 0 || minIterations < 1 || minNanos < 0 || maxIterations < minIterations) {
                throw new IllegalArgumentException("perf settings need warmup >= 0, 1 <= minIterations <= maxIterations,"
                        + " minNanos >= 0; got " + warmup + ", " + minIterations + ", " + maxIterations + ", " + minNanos);
            }
        }
    }

    /**
     * The timing of one case.
     *
     * @param micros     mean wall time of one call, µs
     * @param gflops     flops / time in GFLOP/s (0 when the spec gives no flop count)
     * @param gbps       bytes / time in GB/s (0 when the spec gives no byte count)
     * @param iterations timed calls
     * @param error      why it could not be timed, else null
     */
    public record Timing(String op, String name, String dtype, double micros, double gflops, double gbps,
            int iterations, String error) {
    }

    /** Times one case on {@code backend}, building its data from {@code dataSeed}. */
    public static <C> Timing time(OpSpec<C> spec, C c, Backend backend, long dataSeed, Settings s) {
        String name = spec.name(c);
        String dtype = spec.dtypeLabel(c);
        String op = spec.op().id();
        try (CaseBuilder b = new CaseBuilder(backend, dataSeed); Instance inst = spec.instantiate(c, b)) {
            if (!backend.supports(inst.args())) {
                return new Timing(op, name, dtype, 0, 0, 0, 0, "unsupported");
            }
            for (int i = 0; i < s.warmup(); i++) {
                backend.run(inst.args());
            }
            backend.synchronize();
            // batches of doubling size, synchronized after each, so async backends keep their queue full
            int n = 0;
            int batch = s.minIterations();
            long start = System.nanoTime();
            long elapsed;
            while (true) {
                for (int i = 0; i < batch; i++) {
                    backend.run(inst.args());
                }
                n += batch;
                backend.synchronize();
                elapsed = System.nanoTime() - start;
                if (elapsed >= s.minNanos() || n >= s.maxIterations()) {
                    break;
                }
                batch = Math.min(batch * 2, s.maxIterations() - n);
            }
            double micros = elapsed / 1e3 / n;
            double secs = elapsed / 1e9 / n;
            double flops = spec.flops(c);
            double bytes = spec.bytes(c);
            return new Timing(op, name, dtype, micros, flops > 0 ? flops / secs / 1e9 : 0,
                    bytes > 0 ? bytes / secs / 1e9 : 0, n, null);
        } catch (RuntimeException | AssertionError e) {
            return new Timing(op, name, dtype, 0, 0, 0, 0, "threw " + e);
        }
    }
}
