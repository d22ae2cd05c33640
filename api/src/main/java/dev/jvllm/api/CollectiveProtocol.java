package dev.jvllm.api;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The host side of a tensor-parallel group whose ranks are threads of one JVM, for a backend's
 * {@link Communicator}: the CPU's in-process ranks and the CUDA backend's ranks (one device each, or
 * several on one device) both run their collectives through it.
 *
 * <p>Every collective is {@link #run}: each rank posts what the others need (its tensor, or a
 * device buffer it filled), then waits at barrier A. The last rank to arrive checks that all ranks
 * made the same call ({@link #describe}); a mismatch breaks the group. Between A and B ranks only
 * read what others posted and write their own outputs or scratch; after B each rank writes only its
 * own state. A rank cannot post its next call before every rank has passed B, so one set of posted
 * slots suffices. (Backends whose reads are asynchronous, like a GPU's, also order them on the device
 * side; see the CUDA group.)
 *
 * <p>Failures never hang: a rank that throws inside a collective breaks the group, a wait at a
 * barrier longer than the timeout breaks it too, and every rank waiting or arriving later fails with
 * an {@link IllegalStateException} naming the collective, the rank and the first cause. A broken
 * group stays broken.
 */
public final class CollectiveProtocol {
    /** Barrier timeout when the property is unset. */
    public static final long DEFAULT_TIMEOUT_SECONDS = 60;

    private final int size;
    private final long timeoutNanos;
    private final long spinNanos;
    private final String timeoutProperty;
    private final Barrier barrier;
    /** Per rank: the posted call's description. */
    private final String[] calls;

    /**
     * A group of {@code size} ranks.
     *
     * @param timeoutNanos    longest wait at a barrier
     * @param spinNanos       how long a rank spins at a barrier before it blocks: waking a blocked
     *                        thread costs tens of microseconds, which ranks that only enqueue device
     *                        work notice on every collective; 0 blocks at once
     * @param timeoutProperty the system property that sets the timeout, named in timeout messages
     */
    public CollectiveProtocol(int size, long timeoutNanos, long spinNanos, String timeoutProperty) {
        if (size < 1) {
            throw new IllegalArgumentException("worldSize must be >= 1, got " + size);
        }
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeoutNanos must be > 0, got " + timeoutNanos);
        }
        this.size = size;
        this.timeoutNanos = timeoutNanos;
        this.spinNanos = Math.max(0, spinNanos);
        this.timeoutProperty = timeoutProperty;
        this.barrier = new Barrier(size);
        this.calls = new String[size];
    }

    /** The timeout system property {@code property} sets, in seconds (default {@value #DEFAULT_TIMEOUT_SECONDS}, at least 1). */
    public static long timeoutNanos(String property) {
        return TimeUnit.SECONDS.toNanos(Math.max(1, Long.getLong(property, DEFAULT_TIMEOUT_SECONDS)));
    }

    /** Number of ranks. */
    public int size() {
        return size;
    }

    /**
     * One collective on {@code rank}: {@code post}, barrier A (the last arrival checks that every
     * rank posted the same {@code call}), {@code read} (reads what any rank posted, writes only this
     * rank's outputs or scratch), barrier B, {@code write} (this rank's own state only). Anything
     * thrown breaks the group and is rethrown.
     */
    public void run(String op, int rank, String call, Runnable post, Runnable read, Runnable write) {
        barrier.checkIntact(op, rank);
        try {
            post.run();
            calls[rank] = call;
            barrier.await(op, rank, this::checkCalls);
            read.run();
            barrier.await(op, rank, null);
            write.run();
        } catch (RuntimeException | Error e) {
            barrier.breakWith(op, rank, e);
            throw e;
        }
    }

    /** A caller error on {@code rank}: it breaks the group so the other ranks fail now instead of timing out. */
    public IllegalArgumentException invalid(String op, int rank, String message) {
        IllegalArgumentException e = new IllegalArgumentException(op + " on rank " + rank + ": " + message);
        barrier.breakWith(op, rank, e);
        return e;
    }

    /**
     * Breaks the group for good because {@code rank} can no longer take part (its backend was closed),
     * so that no rank waits for it; later collectives fail naming {@code why}.
     */
    public void leave(int rank, String why) {
        barrier.breakWith("close", rank, new IllegalStateException(why));
    }

    /** Checks {@link Communicator#allReduceSum}'s argument: F32, BF16 or F16 (else {@link #invalid}). */
    public void checkSummable(int rank, Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
            throw invalid("allReduceSum", rank, t.describe() + " is not F32/BF16/F16; sum float tensors only");
        }
    }

    /** Checks {@link Communicator#allGather}'s output: in's dtype and shape with the last dimension times the size. */
    public void checkGatherOutput(int rank, Tensor in, Tensor out) {
        int[] want = in.shape();
        want[want.length - 1] = size * in.cols();
        if (!Arrays.equals(out.shape(), want) || out.dtype() != in.dtype()) {
            throw invalid("allGather", rank, "out is " + out.describe() + ", expected " + in.dtype()
                    + Arrays.toString(want) + " (the input " + in.describe()
                    + " with the last dimension times the group size " + size + ")");
        }
    }

    /** Checks {@link Communicator#broadcast}'s root. */
    public void checkRoot(int rank, int root) {
        if (root < 0 || root >= size) {
            throw invalid("broadcast", rank, "root " + root + " outside the group [0, " + size + ")");
        }
    }

    /** The call as ranks compare it: {@code allReduceSum(BF16[7, 769])}, {@code broadcast(F32[3], root 1)}. */
    public static String describe(String op, Tensor t, int root) {
        return op + "(" + t.dtype() + Arrays.toString(t.shape()) + (root >= 0 ? ", root " + root : "") + ")";
    }

    /** Runs in the last thread to reach barrier A: every rank must make the same call. */
    private void checkCalls() {
        for (int r = 1; r < size; r++) {
            if (!calls[r].equals(calls[0])) {
                StringBuilder sb = new StringBuilder("ranks called different collectives:");
                for (int k = 0; k < size; k++) {
                    sb.append(" rank ").append(k).append(": ").append(calls[k]).append(';');
                }
                throw new IllegalStateException(sb + " every rank must call the same collectives in the same order "
                        + "with tensors of the same shape");
            }
        }
    }

    /**
     * A reusable barrier that can be broken for good: a generation counter under one lock, an
     * action run by the last arrival before the others are released, a timeout per wait, and a
     * recorded first failure that every current and later wait reports.
     */
    private final class Barrier {
        private final int parties;
        private int arrived;
        /** Volatile: read without the lock while spinning. */
        private volatile long generation;
        private volatile String broken;
        private Throwable cause;

        Barrier(int parties) {
            this.parties = parties;
        }

        synchronized void checkIntact(String op, int rank) {
            if (broken != null) {
                throw failure(op, rank);
            }
        }

        void await(String op, int rank, Runnable lastArrival) {
            long start = System.nanoTime();
            long gen = arrive(op, rank, lastArrival);
            if (gen < 0) {
                return;
            }
            while (gen == generation && broken == null && System.nanoTime() - start < spinNanos) {
                Thread.onSpinWait();
            }
            block(op, rank, gen, start + timeoutNanos);
        }

        /** Counts this rank in: −1 when it was the last (the others are released), else the generation to wait out. */
        private synchronized long arrive(String op, int rank, Runnable lastArrival) {
            if (broken != null) {
                throw failure(op, rank);
            }
            long gen = generation;
            if (++arrived == parties) {
                if (lastArrival != null) {
                    try {
                        lastArrival.run();
                    } catch (RuntimeException e) {
                        breakWith(op, rank, e);
                        throw failure(op, rank);
                    }
                }
                arrived = 0;
                generation = gen + 1;
                notifyAll();
                return -1;
            }
            return gen;
        }

        /** Waits until generation {@code gen} is over, the group breaks, or the deadline passes (which breaks it). */
        private synchronized void block(String op, int rank, long gen, long deadline) {
            while (gen == generation && broken == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    breakWith(op, rank, new IllegalStateException("rank " + rank + " waited "
                            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) / 1000.0 + " s in " + op + " for "
                            + (parties - arrived) + " of " + parties + " ranks; a rank failed, stopped or called "
                            + "another collective (raise -D" + timeoutProperty + " if a rank is just slow)"));
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    breakWith(op, rank, new IllegalStateException("rank " + rank + " was interrupted in " + op, e));
                    break;
                }
            }
            if (gen == generation) {
                throw failure(op, rank);
            }
        }

        /** Breaks the group for good (the first cause wins) and wakes every waiting rank. */
        synchronized void breakWith(String op, int rank, Throwable e) {
            if (broken == null) {
                broken = op + " on rank " + rank + ": " + e.getMessage();
                cause = e;
            }
            notifyAll();
        }

        private IllegalStateException failure(String op, int rank) {
            return new IllegalStateException(op + " on rank " + rank + " failed: the group is broken (" + broken
                    + "); create a new group", cause);
        }
    }
}
