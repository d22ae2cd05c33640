package dev.jvllm.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The backend's one worker pool. Work is split statically into independent tasks whose results
 * never depend on which thread ran them: every output element is produced by exactly one task
 * with a fixed reduction order, so results are bit-identical for any thread count.
 *
 * <p>Built for many small parallel regions (a decode step runs ~300 of them, tens of µs each):
 * the calling thread takes part in the work, tasks are claimed from a shared counter in chunks,
 * and idle workers spin for {@value #DEFAULT_SPIN_MICROS} µs ({@code -Djvllm.cpu.spin_us}) before
 * they park, so the next region of a step usually starts without a wake-up (a parked thread takes
 * tens of µs to wake, a spinning one well under one; the regions of a decode step follow each other
 * within a few µs). The window is short on purpose: on a loaded machine a spinning thread uses up its
 * share of the core, while a parked one is scheduled promptly when woken. Workers never spin when there are more threads than
 * processors: they would take the cores from the threads doing the work.
 *
 * <p>One region runs at a time: a region started while another is running (another caller, or a
 * task starting a region of its own) runs its tasks on its own thread, in order.
 */
public final class Parallel implements AutoCloseable {
    public static final String SPIN_PROPERTY = "jvllm.cpu.spin_us";
    static final long DEFAULT_SPIN_MICROS = 20;

    private final int threads;
    private final Worker[] workers;
    private final long spinNanos;
    /** Held by the thread running the current region. */
    private final ReentrantLock running = new ReentrantLock();
    /** The region workers should join; null when none (kept set until it is done). */
    private volatile Region region;
    private volatile boolean closed;

    Parallel(int threads) {
        this.threads = threads;
        long spinMicros = Long.getLong(SPIN_PROPERTY, DEFAULT_SPIN_MICROS);
        this.spinNanos = threads <= Runtime.getRuntime().availableProcessors() ? Math.max(0, spinMicros) * 1000 : 0;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body.accept(i)} for every i in [0, n), spread over the pool; returns when all are
     * done. Tasks must write disjoint outputs. The first exception a task throws is rethrown here,
     * after every task has finished or been skipped.
     */
    public void forEach(int n, IntConsumer body) {
        if (n <= 0) {
            return;
        }
        if (workers.length == 0 || n == 1 || Thread.currentThread() instanceof Worker w && w.pool() == this
                || running.isHeldByCurrentThread() || !running.tryLock()) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        Region r = new Region(body, n, Math.max(1, n / (threads * 4)));
        try {
            region = r;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            r.work();
            r.awaitDone();
        } finally {
            region = null;
            running.unlock();
        }
        if (r.failure != null) {
            if (r.failure instanceof RuntimeException e) {
                throw e;
            }
            if (r.failure instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(r.failure);
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

    /** One call of {@link #forEach}: tasks [0, n) claimed {@code chunk} at a time by every thread that joins. */
    private static final class Region {
        final IntConsumer body;
        final int n;
        final int chunk;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();
        volatile Throwable failure;

        Region(IntConsumer body, int n, int chunk) {
            this.body = body;
            this.n = n;
            this.chunk = chunk;
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            for (int s; (s = next.getAndAdd(chunk)) < n; ) {
                int e = Math.min(n, s + chunk);
                try {
                    if (failure == null) {
                        for (int i = s; i < e; i++) {
                            body.accept(i);
                        }
                    }
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                } finally {
                    finished.addAndGet(e - s); // publishes the chunk's writes to the caller
                }
            }
        }

        /** Waits for the chunks other threads claimed: they are short, so spin, then yield the core. */
        void awaitDone() {
            for (int spins = 0; finished.get() < n; spins++) {
                if (spins < 256) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }

    private final class Worker extends Thread {
        /** Set while parked (or about to park), so that a new region knows to unpark this worker. */
        volatile boolean parked;

        Worker(int index) {
            super("jvllm-cpu-" + index);
            setDaemon(true);
        }

        Parallel pool() {
            return Parallel.this;
        }

        @Override
        public void run() {
            Region last = null;
            while (true) {
                Region r = await(last);
                if (r == null) {
                    return;
                }
                last = r;
                r.work();
            }
        }

        /** The next region other than {@code last}, or null once the pool is closed. */
        private Region await(Region last) {
            long deadline = System.nanoTime() + spinNanos;
            while (true) {
                Region r = region;
                if (r != null && r != last) {
                    return r;
                }
                if (closed) {
                    return null;
                }
                if (spinNanos > 0 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                r = region; // re-check after announcing: a region published before this line is seen here
                if ((r != null && r != last) || closed) {
                    parked = false;
                    continue;
                }
                LockSupport.park(this);
                parked = false;
            }
        }
    }
}
