package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.CollectiveProtocol;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

/**
 * A tensor-parallel group of CUDA backends in this JVM ({@link CudaProvider#createGroup}): rank r on
 * device {@code (first + r) mod deviceCount}, so a one-GPU machine holds every rank on its one device.
 * Each rank keeps its own stream, allocator and kernels; the ranks meet through
 * {@link CollectiveProtocol} on the host (post, barrier A with the call check, read, barrier B,
 * write) and through events and copies on the devices. No NCCL: its ring order would break the
 * {@link Communicator}'s rank-order sums, and it need not be installed.
 *
 * <p>Each rank owns an exchange buffer of {@code size} slots; slot k holds rank k's tensor as
 * contiguous [rows, cols]. One collective on rank r, all of it queued on r's stream (the host never
 * waits for the device):
 * <ol>
 *   <li>post: copy r's tensor into slot r of its own buffer (strided views packed), record {@code posted};</li>
 *   <li>read (after A): for every rank k that matters, wait for k's {@code posted}, then copy slot k of
 *       k's buffer into slot k of r's (a peer copy: direct over NVLink/PCIe where
 *       {@code cuDeviceCanAccessPeer} allows and peer access was enabled, else staged by the driver
 *       through host memory; a plain device copy between ranks of one device); then combine the slots
 *       into r's output, record {@code readDone};</li>
 *   <li>write (after B): wait for every other rank's {@code readDone}, so that r's next post, which
 *       overwrites slot r, and r's close run after every reader has finished with it.</li>
 * </ol>
 * All-reduce combines with {@code coll_sum_ranks} (collective.cu): the f32 sum of slots 0, 1, ... in
 * rank order, rounded once, the same kernel on the same data on every rank, hence the same bits;
 * all-gather with one 2D copy per slot into its columns of the output; broadcast reads only the
 * root's slot. Each rank reads (n−1) tensors per all-reduce (a reduce-scatter would read 2(n−1)/n):
 * the same for n = 2, and every rank's sum comes from one kernel instead of pieces.
 *
 * <p>Failures never hang ({@link CollectiveProtocol}): the barrier timeout is
 * {@code -Djvllm.cuda.collectiveTimeoutSeconds} (default 60; a rank first spins
 * {@code -Djvllm.cuda.collectiveSpinMicros}, default 100, then blocks), and closing one rank's backend breaks
 * the group. Device waits only ever target events recorded before the barrier that released them.
 */
final class CudaGroup {
    static final String TIMEOUT_PROPERTY = "jvllm.cuda.collectiveTimeoutSeconds";
    /** Microseconds a rank spins at a barrier before blocking (default {@value #DEFAULT_SPIN_MICROS}). */
    static final String SPIN_PROPERTY = "jvllm.cuda.collectiveSpinMicros";
    static final long DEFAULT_SPIN_MICROS = 100;
    /** Slots start on this byte boundary: aligned peer copies and loads. */
    static final long SLOT_ALIGN = 256;

    private final CollectiveProtocol protocol;
    private final Rank[] ranks;

    private CudaGroup(int size, long timeoutNanos) {
        // ranks only enqueue device work between barriers, so they usually meet within microseconds
        this.protocol = new CollectiveProtocol(size, timeoutNanos,
                TimeUnit.MICROSECONDS.toNanos(Long.getLong(SPIN_PROPERTY, DEFAULT_SPIN_MICROS)), TIMEOUT_PROPERTY);
        this.ranks = new Rank[size];
    }

    /**
     * {@code worldSize} new backends, rank i at index i on device {@code (firstDevice + i) mod} the
     * device count, with peer access enabled between every two of their devices that allow it.
     */
    static List<Backend> create(int worldSize, int firstDevice) {
        return create(worldSize, firstDevice, CollectiveProtocol.timeoutNanos(TIMEOUT_PROPERTY));
    }

    /** As {@link #create(int, int)} with an explicit barrier timeout (tests). */
    static List<Backend> create(int worldSize, int firstDevice, long timeoutNanos) {
        Driver.init();
        int count = Driver.deviceCount();
        if (firstDevice < 0 || firstDevice >= count) {
            throw new IllegalArgumentException("device " + firstDevice + " does not exist: this machine has " + count
                    + " CUDA device(s); pass a device ordinal in [0, " + count + ")");
        }
        CudaGroup g = new CudaGroup(worldSize, timeoutNanos);
        List<Backend> out = new ArrayList<>();
        try {
            for (int r = 0; r < worldSize; r++) {
                CudaBackend b = new CudaBackend((firstDevice + r) % count);
                out.add(b);
                g.ranks[r] = g.new Rank(r, b);
                b.join(g.ranks[r]);
            }
            g.enablePeerAccess();
        } catch (RuntimeException | Error e) {
            for (Backend b : out) {
                try {
                    b.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return List.copyOf(out);
    }

    /** Direct access between every two distinct devices of the group that allow it (other pairs' copies are staged). */
    private void enablePeerAccess() {
        for (Rank a : ranks) {
            for (Rank b : ranks) {
                if (a.gpu.device() != b.gpu.device() && Driver.canAccessPeer(a.gpu.device(), b.gpu.device())) {
                    a.gpu.makeCurrent();
                    Driver.enablePeerAccess(b.gpu.context());
                }
            }
        }
    }

    /** One rank: its backend, its exchange buffer and the two events the other ranks wait for. */
    final class Rank implements Communicator {
        private final int rank;
        private final CudaBackend backend;
        private final Gpu gpu;
        /** Recorded after this rank filled its slot; readers wait for it before copying. */
        private final MemorySegment posted;
        /** Recorded after this rank's copies from the others' slots; each owner waits for it before reusing its slot. */
        private final MemorySegment readDone;
        /** size slots (slot k: rank k's tensor); the other ranks read slot {@code rank} between A and B. */
        private DeviceAllocator.Block exchange;
        /** The current call's slot geometry (set in post; the same on every rank once the calls matched). */
        private TensorLayout slotShape;
        private long slotBytes;

        Rank(int rank, CudaBackend backend) {
            this.rank = rank;
            this.backend = backend;
            this.gpu = backend.gpu();
            gpu.makeCurrent();
            this.posted = Driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
            this.readDone = Driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int size() {
            return ranks.length;
        }

        @Override
        public void allReduceSum(Tensor t) {
            String op = "allReduceSum";
            protocol.checkSummable(rank, t);
            CudaTensor x = own(op, t);
            collective(op, CollectiveProtocol.describe(op, t, -1), x, true, k -> true, () -> {
                if (x.numel() > 0) {
                    gpu.kernel("coll_sum_ranks").rowsCols(x.rows(), x.cols())
                            .ptr(exchange.pointer).i64(slotBytes / x.dtype().byteSize()).i32(size())
                            .view(x).i64(x.rows()).i32(x.cols()).launch();
                }
            });
        }

        @Override
        public void allGather(Tensor in, Tensor out) {
            String op = "allGather";
            protocol.checkGatherOutput(rank, in, out);
            CudaTensor x = own(op, in);
            CudaTensor y = own(op, out);
            int c = in.cols();
            collective(op, CollectiveProtocol.describe(op, in, -1), x, true, k -> true, () -> {
                for (int k = 0; k < size(); k++) {
                    gpu.copy(slot(k), gpu.tensor(y.narrowLast(k * c, c)));
                }
            });
        }

        @Override
        public void broadcast(Tensor t, int root) {
            String op = "broadcast";
            protocol.checkRoot(rank, root);
            CudaTensor x = own(op, t);
            collective(op, CollectiveProtocol.describe(op, t, root), x, rank == root, k -> k == root, () -> {
                if (rank != root) {
                    gpu.copy(slot(root), x);
                }
            });
        }

        /** The tensor as one of this rank's; another backend's tensor is a caller error that breaks the group. */
        private CudaTensor own(String op, Tensor t) {
            try {
                return gpu.tensor(t);
            } catch (IllegalArgumentException e) {
                throw protocol.invalid(op, rank, e.getMessage());
            }
        }

        /**
         * One collective over per-rank tensors shaped like {@code t}: post copies {@code t} into this
         * rank's slot when {@code postMine}; read copies slot k of every other rank k that {@code fetch}
         * accepts, then runs {@code combine}; write waits until the others have read this rank's slot.
         */
        private void collective(String op, String call, CudaTensor t, boolean postMine, IntPredicate fetch,
                Runnable combine) {
            long dataBytes = t.numel() * t.dtype().byteSize();
            backend.releaseHeld(); // ops held for fusion run before the collective's work
            protocol.run(op, rank, call, () -> {
                gpu.makeCurrent();
                slotShape = TensorLayout.contiguous(t.dtype(), Math.toIntExact(t.rows()), t.cols());
                slotBytes = (dataBytes + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
                reserve(size() * slotBytes);
                if (postMine) {
                    gpu.copy(t, slot(rank));
                }
                Driver.eventRecord(posted, gpu.stream());
            }, () -> {
                gpu.makeCurrent();
                for (int k = 0; k < size(); k++) {
                    if (k != rank && fetch.test(k)) {
                        Driver.streamWaitEvent(gpu.stream(), ranks[k].posted);
                        copySlotFrom(ranks[k], k, dataBytes);
                    }
                }
                combine.run();
                Driver.eventRecord(readDone, gpu.stream());
            }, () -> {
                gpu.makeCurrent();
                for (Rank other : ranks) {
                    if (other != this) {
                        Driver.streamWaitEvent(gpu.stream(), other.readDone);
                    }
                }
            });
        }

        /** Grows the exchange buffer to {@code bytes}; the old one is free: its readers were waited for. */
        private void reserve(long bytes) {
            if (exchange == null || exchange.size < bytes) {
                if (exchange != null) {
                    gpu.allocator().free(exchange);
                    exchange = null;
                }
                exchange = gpu.allocator().allocate(bytes);
            }
        }

        /** Slot k of this rank's exchange buffer, shaped as the current call's tensor. */
        private CudaTensor slot(int k) {
            long es = slotShape.dtype().byteSize();
            return new CudaTensor(backend, exchange, new TensorLayout(slotShape.dtype(), slotShape.shape(),
                    k * slotBytes / es, slotShape.cols()), false);
        }

        /** Slot k of {@code from}'s buffer into slot k of this one, on this rank's stream. */
        private void copySlotFrom(Rank from, int k, long bytes) {
            if (bytes == 0) {
                return;
            }
            long dst = exchange.pointer + k * slotBytes;
            long src = from.exchange.pointer + k * slotBytes;
            if (from.gpu.context().address() == gpu.context().address()) {
                Driver.copyDtoDAsync(dst, src, bytes, gpu.stream());
            } else {
                Driver.copyPeerAsync(dst, gpu.context(), src, from.gpu.context(), bytes, gpu.stream());
            }
        }

        /** This rank's backend is closing: the group breaks for good (no rank waits for this one). */
        void leave() {
            protocol.leave(rank, "rank " + rank + "'s cuda backend was closed");
            gpu.makeCurrent();
            Driver.eventDestroy(posted);
            Driver.eventDestroy(readDone);
        }
    }
}
