package dev.jvllm.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The backend's one worker pool. Work is split statically into independent tasks whose results
 * never depend on which thread ran them: every output element is produced by exactly one task
 * with a fixed reduction order, so results are bit-identical for any thread count.
 *
 * <p>A region ({@link #forEach}) runs on the calling thread and {@code threads - 1} workers, which
 * take task indices from a shared counter. Between regions the workers spin for a while
 * ({@value #DEFAULT_SPIN_MICROS} µs by default, {@code -Djvllm.cpu.spinMicros=N}) before they
 * park: a decode step is ~80 regions a few hundred µs apart, and waking a parked thread on a
 * virtual machine took longer than that (a ForkJoinPool's chain of wake-ups, caller → worker →
 * worker → caller, left 2 cores idle 27% of a 1B model's decode step; docs/perf/decode.md). A
 * region started from inside a task, or while another thread's region runs, runs on its own
 * thread (same results, as tasks never depend on who runs them).
 */
public final class Parallel implements AutoCloseable {
    static final int DEFAULT_SPIN_MICROS = 1000;
    private static final long SPIN_NANOS = 1000L * Integer.getInteger("jvllm.cpu.spinMicros", DEFAULT_SPIN_MICROS);

    private final int threads;
    private final Worker[] workers;
    /** Held by the thread whose region runs: one region at a time on the workers. */
    private final ReentrantLock region = new ReentrantLock();
    /** Calls that went to the pool (each wakes parked workers and waits for them): see {@link #regions()}. */
    private final LongAdder regions = new LongAdder();
    /** The latest region; workers run each one they have not seen (by generation). */
    private volatile Job job;
    private long generation;
    private volatile boolean closed;

    Parallel(int threads) {
        this.threads = threads;
        this.workers = new Worker[Math.max(0, threads - 1)];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(this, i);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * How many parallel regions ran on the pool so far (calls with more than one task on more than
     * one thread). Each costs a hand-off to the workers and a wait for the last of them, so profiles
     * ({@code ProfileForward}) count them per step.
     */
    public long regions() {
        return regions.sum();
    }

    /**
     * Runs {@code body.accept(i)} for every i in [0, n), spread over the pool; returns when all are
     * done. Tasks must write disjoint outputs. The first exception a task throws reaches the caller
     * (after every task has ended).
     */
    public void forEach(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        if (workers.length == 0 || n == 1 || Thread.currentThread() instanceof Worker w && w.pool == this
                || region.isHeldByCurrentThread() || !region.tryLock()) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        try {
            regions.increment();
            Job j = new Job(body, n, ++generation, Thread.currentThread());
            job = j;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            j.work();
            j.await();
            job = null; // the body's captures are not kept past the region
            j.rethrow();
        } finally {
            region.unlock();
        }
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
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w);
        }
    }

    /** One region: tasks [0, n) handed out by a counter; the last one to finish wakes a parked caller. */
    private static final class Job {
        final IntConsumer body;
        final int n;
        final long generation;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;
        volatile boolean callerParked;

        Job(IntConsumer body, int n, long generation, Thread caller) {
            this.body = body;
            this.n = n;
            this.generation = generation;
            this.caller = caller;
        }

        void work() {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                try {
                    body.accept(i);
                } catch (Throwable t) {
                    if (error == null) {
                        error = t;
                    }
                } finally {
                    if (done.incrementAndGet() == n && callerParked) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        /** Spins, then parks, until every task has finished. */
        void await() {
            long start = System.nanoTime();
            while (done.get() < n) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                callerParked = true;
                while (done.get() < n) {
                    LockSupport.park(this);
                }
            }
        }

        void rethrow() {
            Throwable t = error;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    /** Runs every region it has not seen; spins for {@link #SPIN_NANOS} after one, then parks. */
    private static final class Worker extends Thread {
        final Parallel pool;
        volatile boolean parked;

        Worker(Parallel pool, int index) {
            super("jvllm-cpu-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0;
            long idleSince = System.nanoTime();
            while (!pool.closed) {
                Job j = pool.job;
                if (j != null && j.generation != seen) {
                    seen = j.generation;
                    j.work();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    Job again = pool.job; // a region published before `parked` was seen must not be missed
                    if (!pool.closed && (again == null || again.generation == seen)) {
                        LockSupport.park(pool);
                    }
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
