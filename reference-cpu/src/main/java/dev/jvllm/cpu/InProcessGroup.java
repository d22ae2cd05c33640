package dev.jvllm.cpu;

import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * In-process tensor-parallel ranks: one thread per rank, all in this JVM, exchanging tensors
 * through shared memory between two barriers per collective.
 *
 * <p>Protocol of every collective: each rank posts a description of its call (collective, dtypes,
 * shapes, root) and its tensors, then waits at barrier A. The last rank to arrive checks that all
 * calls match; a mismatch breaks the group. Between A and B ranks only read other ranks' tensors;
 * after B each rank writes only its own. A rank cannot post its next call before every rank has
 * passed B, and no one writes shared scratch before the next A, so one set of slots suffices.
 *
 * <ul>
 *   <li>{@code allReduceSum}: rank r sums the r-th contiguous share of the elements over all
 *       ranks in rank order (f32, {@code ((x0 + x1) + x2) + ...}) into its scratch; after B every
 *       rank rounds the f32 sums to its dtype once. Every rank gets the same bits whatever the
 *       timing. F32/BF16/F16.</li>
 *   <li>{@code allGather}: after A each rank copies every rank's input into its own output (raw
 *       bytes, any dtype); B keeps the inputs alive until all copies are done.</li>
 *   <li>{@code broadcast}: after A every other rank copies the root's bytes; B keeps the root's
 *       tensor unchanged until then.</li>
 * </ul>
 *
 * <p>Failures never hang: a rank that throws inside a collective breaks the group, a barrier wait
 * longer than the timeout ({@code -Djvllm.cpu.collectiveTimeoutSeconds}, default 60) breaks it
 * too, and every rank waiting or arriving later fails with an {@link IllegalStateException} that
 * names the collective, the rank and the first cause. A broken group stays broken.
 */
final class InProcessGroup {
    static final String TIMEOUT_PROPERTY = "jvllm.cpu.collectiveTimeoutSeconds";
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final int size;
    private final long timeoutNanos;
    private final Barrier barrier;
    /** Per rank: the posted call, and its tensors (the reduced/broadcast tensor, or the gather input). */
    private final String[] calls;
    private final Tensor[] posted;
    /** Per rank: f32 sums of that rank's share of an allReduceSum. */
    private final float[][] scratch;

    private InProcessGroup(int size, long timeoutNanos) {
        this.size = size;
        this.timeoutNanos = timeoutNanos;
        this.barrier = new Barrier(size);
        this.calls = new String[size];
        this.posted = new Tensor[size];
        this.scratch = new float[size][];
    }

    /** The communicators of a new group of {@code worldSize} ranks, rank i at index i. */
    static List<Communicator> create(int worldSize) {
        long seconds = Long.getLong(TIMEOUT_PROPERTY, 60L);
        return create(worldSize, TimeUnit.SECONDS.toNanos(Math.max(1, seconds)));
    }

    /** As {@link #create(int)} with an explicit barrier timeout (tests). */
    static List<Communicator> create(int worldSize, long timeoutNanos) {
        if (worldSize < 1) {
            throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
        }
        InProcessGroup g = new InProcessGroup(worldSize, timeoutNanos);
        List<Communicator> out = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            out.add(g.new Rank(r));
        }
        return List.copyOf(out);
    }

    /** One rank's view of the group. */
    private final class Rank implements Communicator {
        private final int rank;

        Rank(int rank) {
            this.rank = rank;
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public void allReduceSum(Tensor t) {
            String op = "allReduceSum";
            if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
                throw invalid(op, t.describe() + " is not F32/BF16/F16; sum float tensors only");
            }
            long n = t.numel();
            collective(op, describe(op, t, -1), t, () -> {
                // this rank's share of the elements, summed over the ranks in rank order
                long lo = share(n, rank);
                float[] s = scratchOf(Math.toIntExact(share(n, rank + 1) - lo));
                float[] x = new float[s.length];
                forRowRuns(t.cols(), lo, share(n, rank + 1), (row, col, len, at) -> {
                    load(posted[0], row, col, len, s, at);
                    for (int k = 1; k < size; k++) {
                        load(posted[k], row, col, len, x, 0);
                        for (int j = 0; j < len; j++) {
                            s[at + j] += x[j];
                        }
                    }
                });
            }, () -> {
                for (int k = 0; k < size; k++) {
                    float[] s = scratch[k];
                    long lo = share(n, k);
                    forRowRuns(t.cols(), lo, share(n, k + 1), (row, col, len, at) -> store(t, row, col, len, s, at));
                }
            });
        }

        @Override
        public void allGather(Tensor in, Tensor out) {
            String op = "allGather";
            int c = in.cols();
            int[] want = in.shape();
            want[want.length - 1] = size * c;
            if (!Arrays.equals(out.shape(), want) || out.dtype() != in.dtype()) {
                throw invalid(op, "out is " + out.describe() + ", expected " + in.dtype() + Arrays.toString(want)
                        + " (the input " + in.describe() + " with the last dimension times the group size " + size + ")");
            }
            collective(op, describe(op, in, -1), in, () -> {
                for (int k = 0; k < size; k++) {
                    copyBytes(posted[k], out.narrowLast(k * c, c));
                }
            }, () -> { });
        }

        @Override
        public void broadcast(Tensor t, int root) {
            String op = "broadcast";
            if (root < 0 || root >= size) {
                throw invalid(op, "root " + root + " outside the group [0, " + size + ")");
            }
            collective(op, describe(op, t, root), t, () -> {
                if (rank != root) {
                    copyBytes(posted[root], t);
                }
            }, () -> { });
        }

        /** A caller error on this rank: it breaks the group so the other ranks fail now instead of timing out. */
        private IllegalArgumentException invalid(String op, String message) {
            IllegalArgumentException e = new IllegalArgumentException(op + " on rank " + rank + ": " + message);
            barrier.breakWith(op, rank, e);
            return e;
        }

        /**
         * Post, barrier A, {@code read} (reads any rank's posted tensor, writes only this rank's own
         * output or scratch), barrier B, {@code write} (this rank's own tensors only).
         */
        private void collective(String op, String call, Tensor t, Runnable read, Runnable write) {
            barrier.checkIntact(op, rank);
            calls[rank] = call;
            posted[rank] = t;
            try {
                barrier.await(op, rank, timeoutNanos, InProcessGroup.this::checkCalls);
                read.run();
                barrier.await(op, rank, timeoutNanos, null);
                write.run();
            } catch (RuntimeException | Error e) {
                barrier.breakWith(op, rank, e);
                throw e;
            }
        }

        private float[] scratchOf(int n) {
            float[] s = scratch[rank];
            if (s == null || s.length < n) {
                s = new float[Math.max(n, 16)];
                scratch[rank] = s;
            }
            return s;
        }
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

    private static String describe(String op, Tensor t, int root) {
        return op + "(" + t.dtype() + Arrays.toString(t.shape()) + (root >= 0 ? ", root " + root : "") + ")";
    }

    /** First element of rank k's share of n elements (k = size gives n). */
    private long share(long n, int k) {
        return n * k / size;
    }

    /** A run of one row: columns [col, col + len) of {@code row}, at {@code at} in the share's buffer. */
    @FunctionalInterface
    private interface RowRun {
        void run(long row, int col, int len, int at);
    }

    /** Splits the row-major element range [lo, hi) of a tensor with {@code cols} columns into row runs. */
    private static void forRowRuns(int cols, long lo, long hi, RowRun body) {
        long e = lo;
        while (e < hi) {
            long row = e / cols;
            int col = (int) (e % cols);
            int len = (int) Math.min(cols - col, hi - e);
            body.run(row, col, len, (int) (e - lo));
            e += len;
        }
    }

    /** dst[at + j] = f32(t[row, col + j]) for j &lt; len. */
    private static void load(Tensor t, long row, int col, int len, float[] dst, int at) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment seg = c.storage();
        long base = c.layout().rowByteOffset(row) + (long) col * t.dtype().byteSize();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(seg, F32, base, dst, at, len);
            case BF16 -> {
                for (int j = 0; j < len; j++) {
                    dst[at + j] = Numerics.bf16ToF32(seg.get(I16, base + 2L * j));
                }
            }
            case F16 -> {
                for (int j = 0; j < len; j++) {
                    dst[at + j] = Numerics.f16ToF32(seg.get(I16, base + 2L * j));
                }
            }
            default -> throw new IllegalArgumentException("not a float tensor: " + t.describe());
        }
    }

    /** t[row, col + j] = src[at + j] rounded once to t's dtype, for j &lt; len. */
    private static void store(Tensor t, long row, int col, int len, float[] src, int at) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment seg = c.storage();
        long base = c.layout().rowByteOffset(row) + (long) col * t.dtype().byteSize();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(src, at, seg, F32, base, len);
            case BF16 -> {
                for (int j = 0; j < len; j++) {
                    seg.set(I16, base + 2L * j, Numerics.f32ToBf16(src[at + j]));
                }
            }
            case F16 -> {
                for (int j = 0; j < len; j++) {
                    seg.set(I16, base + 2L * j, Numerics.f32ToF16(src[at + j]));
                }
            }
            default -> throw new IllegalArgumentException("not a float tensor: " + t.describe());
        }
    }

    /** dst = src, row by row, raw bytes (same dtype and shape; either may be a strided view). */
    private static void copyBytes(Tensor src, Tensor dst) {
        CpuTensor s = CpuTensor.of(src);
        CpuTensor d = CpuTensor.of(dst);
        long rowBytes = (long) src.cols() * src.dtype().byteSize();
        long rows = src.rows();
        MemorySegment from = s.storage();
        MemorySegment to = d.storage();
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(from, s.layout().rowByteOffset(r), to, d.layout().rowByteOffset(r), rowBytes);
        }
    }

    /**
     * A reusable barrier that can be broken for good: a generation counter under one lock, an
     * action run by the last arrival before the others are released, a timeout per wait, and a
     * recorded first failure that every current and later wait reports.
     */
    private static final class Barrier {
        private final int parties;
        private int arrived;
        private long generation;
        private String broken;
        private Throwable cause;

        Barrier(int parties) {
            this.parties = parties;
        }

        synchronized void checkIntact(String op, int rank) {
            if (broken != null) {
                throw failure(op, rank);
            }
        }

        synchronized void await(String op, int rank, long timeoutNanos, Runnable lastArrival) {
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
                generation++;
                notifyAll();
                return;
            }
            long deadline = System.nanoTime() + timeoutNanos;
            while (gen == generation && broken == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    breakWith(op, rank, new IllegalStateException("rank " + rank + " waited "
                            + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s in " + op + " for "
                            + (parties - arrived) + " of " + parties + " ranks; a rank failed, stopped or called "
                            + "another collective (raise -D" + TIMEOUT_PROPERTY + " if a rank is just slow)"));
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
            return new IllegalStateException(op + " on rank " + rank + " failed: the in-process group is broken ("
                    + broken + "); create a new group", cause);
        }
    }
}
