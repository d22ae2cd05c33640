package dev.jvllm.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;

/**
 * The backend's one worker pool. Work is split statically into independent tasks whose results
 * never depend on which thread ran them: every output element is produced by exactly one task
 * with a fixed reduction order, so results are bit-identical for any thread count.
 */
public final class Parallel implements AutoCloseable {
    private final int threads;
    private final ForkJoinPool pool;
    /** Calls that went to the pool (each wakes parked workers and waits for them): see {@link #regions()}. */
    private final LongAdder regions = new LongAdder();

    Parallel(int threads) {
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    public int threads() {
        return threads;
    }

    /**
     * How many parallel regions ran on the pool so far (calls with more than one task on more than
     * one thread). Each costs a wake-up of the workers and a wait for the last of them, so profiles
     * ({@code ProfileForward}) count them per step.
     */
    public long regions() {
        return regions.sum();
    }

    /**
     * Runs {@code body.accept(i)} for every i in [0, n), spread over the pool; returns when all are
     * done. Tasks must write disjoint outputs.
     */
    public void forEach(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        if (pool == null || n == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        regions.increment();
        pool.invoke(new Range(body, 0, n, Math.max(1, n / (threads * 4))));
    }

    /**
     * Splits [0, n) into contiguous chunks of at least {@code grain} and runs
     * {@code body.accept(start, end)} for each; the chunking is a function of n and grain only.
     */
    public void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        int chunks = (n + g - 1) / g;
        forEach(chunks, c -> body.run(c * g, Math.min(n, (c + 1) * g)));
    }

    /** A body over the half-open range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }

    private static final class Range extends RecursiveAction {
        private final IntConsumer body;
        private final int lo;
        private final int hi;
        private final int grain;

        Range(IntConsumer body, int lo, int hi, int grain) {
            this.body = body;
            this.lo = lo;
            this.hi = hi;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (hi - lo <= grain) {
                for (int i = lo; i < hi; i++) {
                    body.accept(i);
                }
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Range(body, lo, mid, grain), new Range(body, mid, hi, grain));
        }
    }
}
