package dev.jvllm.cuda;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a CUDA backend's time goes, op by op ({@code -Djvllm.cuda.profile=true}): every op, upload
 * and zero-fill is bracketed by two timing events on the stream, and the host time spent enqueueing
 * it is measured too. Entries are keyed by op and output shape ({@code linear [1, 6144]}), so a
 * decode step's ops (one row) stand apart from a prefill's.
 *
 * <p>Event pairs are read when the stream has been drained ({@link #collect}, called after every
 * synchronize), so profiling adds no waits of its own; it does add two event records per op, so
 * time the same workload without it. Besides the per-op table, {@link #report} gives the device's
 * busy time against the span from the first to the last op of each synchronized window: the
 * difference is time the GPU sat idle waiting for the host to enqueue work. In a decode loop a
 * window is one step (the sampled ids are read back once per step), so the per-window means are
 * per-step figures; {@code -Djvllm.cuda.profile.skip=N} leaves out the first N windows (the
 * warm-up: a cold JVM enqueues several times slower).
 */
final class OpProfiler {
    static final String PROPERTY = "jvllm.cuda.profile";
    static final String SKIP_PROPERTY = "jvllm.cuda.profile.skip";

    private record Pending(String key, MemorySegment start, MemorySegment end, long hostNanos) {
    }

    private static final class Totals {
        long calls;
        double gpuMillis;
        long hostNanos;
    }

    private final MemorySegment stream;
    private final ArrayDeque<MemorySegment> idle = new ArrayDeque<>();
    private final List<MemorySegment> all = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final Map<String, Totals> totals = new LinkedHashMap<>();
    private final long skip = Long.getLong(SKIP_PROPERTY, 0);
    private long windows;
    private long skipped;
    private double busyMillis;
    private double spanMillis;
    private MemorySegment start;
    private long hostStart;

    OpProfiler(MemorySegment stream) {
        this.stream = stream;
    }

    /** Whether profiling was asked for. */
    static boolean enabled() {
        return Boolean.getBoolean(PROPERTY);
    }

    /** Marks the start of an op on the stream (pairs with {@link #end}; not nested). */
    void begin() {
        start = event();
        Driver.eventRecord(start, stream);
        hostStart = System.nanoTime();
    }

    /** Marks the end of the op begun last, under {@code key}. */
    void end(String key) {
        long host = System.nanoTime() - hostStart;
        MemorySegment end = event();
        Driver.eventRecord(end, stream);
        pending.add(new Pending(key, start, end, host));
        start = null;
    }

    private MemorySegment event() {
        MemorySegment e = idle.poll();
        if (e == null) {
            e = Driver.eventCreate(0); // timing enabled
            all.add(e);
        }
        return e;
    }

    /** Reads the events of every op enqueued so far; call only once the stream has drained. */
    void collect() {
        if (pending.isEmpty()) {
            return;
        }
        if (skipped < skip) {
            skipped++;
            recycle();
            return;
        }
        windows++;
        for (Pending p : pending) {
            float ms = Driver.eventElapsedMillis(p.start(), p.end());
            Totals t = totals.computeIfAbsent(p.key(), k -> new Totals());
            t.calls++;
            t.gpuMillis += ms;
            t.hostNanos += p.hostNanos();
            busyMillis += ms;
        }
        spanMillis += Driver.eventElapsedMillis(pending.getFirst().start(), pending.getLast().end());
        recycle();
    }

    private void recycle() {
        for (Pending p : pending) {
            idle.add(p.start());
            idle.add(p.end());
        }
        pending.clear();
    }

    /** The table: one line per op and shape, most GPU time first, then the busy/span summary. */
    String report() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%-48s %8s %11s %9s %9s%n", "op [output shape]", "calls", "GPU ms",
                "GPU us/call", "host us/call"));
        List<Map.Entry<String, Totals>> rows = new ArrayList<>(totals.entrySet());
        rows.sort(Comparator.comparingDouble((Map.Entry<String, Totals> e) -> e.getValue().gpuMillis).reversed());
        long calls = 0;
        long hostNanos = 0;
        for (Map.Entry<String, Totals> e : rows) {
            Totals t = e.getValue();
            calls += t.calls;
            hostNanos += t.hostNanos;
            s.append(String.format(Locale.ROOT, "%-48s %8d %11.3f %9.2f %9.2f%n", e.getKey(), t.calls, t.gpuMillis,
                    1000 * t.gpuMillis / t.calls, t.hostNanos / 1e3 / t.calls));
        }
        s.append(String.format(Locale.ROOT,
                "total: %d calls, GPU busy %.3f ms of a %.3f ms span between the first and last op of each"
                        + " synchronized window (%.0f%% busy); host enqueue time %.3f ms%n",
                calls, busyMillis, spanMillis, spanMillis > 0 ? 100 * busyMillis / spanMillis : 0, hostNanos / 1e6));
        s.append(String.format(Locale.ROOT, "per window (%d windows, the first %d skipped): %.1f calls, GPU busy %.1f us,"
                + " span %.1f us, host enqueue %.1f us%n", windows, skipped, (double) calls / Math.max(1, windows),
                1000 * busyMillis / Math.max(1, windows), 1000 * spanMillis / Math.max(1, windows),
                hostNanos / 1e3 / Math.max(1, windows)));
        return s.toString();
    }

    /** Whether anything was timed. */
    boolean isEmpty() {
        return totals.isEmpty();
    }

    void close() {
        for (MemorySegment e : all) {
            Driver.eventDestroy(e);
        }
        all.clear();
        idle.clear();
        pending.clear();
    }
}
