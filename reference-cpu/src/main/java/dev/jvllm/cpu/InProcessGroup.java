package dev.jvllm.cpu;

import dev.jvllm.api.Communicator;
import dev.jvllm.api.CollectiveProtocol;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * In-process tensor-parallel ranks: one thread per rank, all in this JVM, exchanging tensors
 * through shared memory between the two barriers of {@link CollectiveProtocol} (post, barrier A with
 * the call check, read, barrier B, write). Each rank posts its tensor (the reduced/broadcast tensor,
 * or the gather input).
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
 * <p>Failures never hang (see {@link CollectiveProtocol}); the barrier timeout is
 * {@code -Djvllm.cpu.collectiveTimeoutSeconds} (default 60).
 */
final class InProcessGroup {
    static final String TIMEOUT_PROPERTY = "jvllm.cpu.collectiveTimeoutSeconds";
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final int size;
    private final CollectiveProtocol protocol;
    /** Per rank: its posted tensor (the reduced/broadcast tensor, or the gather input). */
    private final Tensor[] posted;
    /** Per rank: f32 sums of that rank's share of an allReduceSum. */
    private final float[][] scratch;

    private InProcessGroup(int size, long timeoutNanos) {
        this.size = size;
        this.protocol = new CollectiveProtocol(size, timeoutNanos, 0, TIMEOUT_PROPERTY); // ranks compete for cores: block at once
        this.posted = new Tensor[size];
        this.scratch = new float[size][];
    }

    /** The communicators of a new group of {@code worldSize} ranks, rank i at index i. */
    static List<Communicator> create(int worldSize) {
        return create(worldSize, CollectiveProtocol.timeoutNanos(TIMEOUT_PROPERTY));
    }

    /** As {@link #create(int)} with an explicit barrier timeout (tests). */
    static List<Communicator> create(int worldSize, long timeoutNanos) {
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
            protocol.checkSummable(rank, t);
            long n = t.numel();
            collective(op, CollectiveProtocol.describe(op, t, -1), t, () -> {
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
            protocol.checkGatherOutput(rank, in, out);
            collective(op, CollectiveProtocol.describe(op, in, -1), in, () -> {
                for (int k = 0; k < size; k++) {
                    copyBytes(posted[k], out.narrowLast(k * c, c));
                }
            }, () -> { });
        }

        @Override
        public void broadcast(Tensor t, int root) {
            String op = "broadcast";
            protocol.checkRoot(rank, root);
            collective(op, CollectiveProtocol.describe(op, t, root), t, () -> {
                if (rank != root) {
                    copyBytes(posted[root], t);
                }
            }, () -> { });
        }

        /** {@link CollectiveProtocol#run} with this rank's tensor as what it posts. */
        private void collective(String op, String call, Tensor t, Runnable read, Runnable write) {
            protocol.run(op, rank, call, () -> posted[rank] = t, read, write);
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
}
