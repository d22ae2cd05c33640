package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.CollectiveProtocol;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.Fill;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The CUDA tensor-parallel group beyond what the conformance suite's value checks see: device
 * placement, stream ordering of back-to-back collectives the host never waits for, and failures
 * (mismatched calls, a foreign tensor, a missing rank, a closed rank) that end on every rank, fast.
 * Values, dtypes and strided views: CudaConformanceTest's collective cases. Skipped without a GPU.
 */
class CudaGroupTest {

    @BeforeAll
    static void requireGpu() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeTrue(p.available(), () -> "no usable CUDA device: " + p.reason());
    }

    @Test
    void rankROpensDeviceFirstPlusRModuloTheDeviceCount() {
        Driver.init();
        int count = Driver.deviceCount();
        List<Backend> g = new CudaProvider().createGroup(3, BackendOptions.defaults());
        try {
            for (int r = 0; r < 3; r++) {
                assertEquals(r, g.get(r).communicator().rank());
                assertEquals(3, g.get(r).communicator().size());
                String d = g.get(r).description();
                assertTrue(d.contains("(device " + r % count + ","), d);
            }
        } finally {
            g.forEach(Backend::close);
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> new CudaProvider().createGroup(2, new BackendOptions(0, count, java.util.Map.of())));
        assertTrue(e.getMessage().contains("device " + count + " does not exist"), e.getMessage());
    }

    /**
     * 60 rounds per rank of fill, all-reduce, broadcast and accumulate, with tensors whose size changes
     * (the exchange buffers grow) and are freed every round, and no host wait until the end: a rank
     * whose copies ran before a peer's slot was filled, or whose slot was overwritten before a peer had
     * read it, ends with a wrong total.
     */
    @Test
    void backToBackCollectivesStayOrderedOnTheDevices() throws Exception {
        int n = 3, rounds = 60, cols = 64;
        inGroup(n, g -> {
            List<Object> got = onRanks(n, r -> {
                Backend b = g.get(r);
                Communicator c = b.communicator();
                try (Tensor acc = b.allocate(DType.F32, 1, cols)) {
                    for (int i = 0; i < rounds; i++) {
                        int rows = i % 3 == 0 ? 257 : 1 + i % 5;
                        try (Tensor t = b.allocate(DType.F32, rows, cols); Tensor u = b.allocate(DType.F32, rows, cols)) {
                            b.fill(new Fill(t, r + 1 + i));
                            c.allReduceSum(t);
                            b.fill(new Fill(u, 10 * r + i));
                            c.broadcast(u, i % n);
                            b.binary(new Binary(Binary.Op.ADD, acc, t.slice(rows - 1, 1), acc));
                            b.binary(new Binary(Binary.Op.ADD, acc, u.slice(0, 1), acc));
                        }
                    }
                    return Tensors.toFloats(acc);
                }
            });
            float want = 0;
            for (int i = 0; i < rounds; i++) {
                want += n * (n + 1) / 2f + n * i + 10 * (i % n) + i;
            }
            for (int r = 0; r < n; r++) {
                float[] acc = assertInstanceOf(float[].class, got.get(r), () -> String.valueOf(got));
                for (float v : acc) {
                    assertEquals(want, v, 0f, "rank " + r);
                }
            }
        });
    }

    @Test
    void mismatchedCallsFailOnEveryRankNamingTheCalls() throws Exception {
        inGroup(2, g -> {
            List<Object> got = onRanks(2, r -> {
                g.get(r).communicator().allReduceSum(g.get(r).allocate(DType.BF16, 2, r == 0 ? 3 : 4));
                return "returned";
            });
            for (Object o : got) {
                Throwable e = assertInstanceOf(IllegalStateException.class, o);
                assertTrue(e.getMessage().contains("ranks called different collectives")
                        && e.getMessage().contains("allReduceSum(BF16[2, 4])"), e.getMessage());
            }
        });
    }

    @Test
    void aTensorOfAnotherRankFailsThatRankAndTheOthersAtOnce() throws Exception {
        inGroup(2, g -> { // default 60 s timeout: rank 0 must not wait for it
            Tensor foreign = g.get(0).allocate(DType.F32, 4);
            long start = System.nanoTime();
            List<Object> got = onRanks(2, r -> {
                g.get(r).communicator().broadcast(r == 1 ? foreign : g.get(r).allocate(DType.F32, 4), 0);
                return "returned";
            });
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the healthy rank waited");
            Throwable bad = assertInstanceOf(IllegalArgumentException.class, got.get(1));
            assertTrue(bad.getMessage().contains("broadcast on rank 1") && bad.getMessage().contains("another cuda backend"),
                    bad.getMessage());
            Throwable other = assertInstanceOf(IllegalStateException.class, got.get(0));
            assertTrue(other.getMessage().contains("broadcast on rank 1"), other.getMessage());
        });
    }

    @Test
    void aRankThatNeverArrivesTimesOutNamingTheCollective() throws Exception {
        inGroup(2, TimeUnit.MILLISECONDS.toNanos(300), g -> {
            List<Object> got = onRanks(1, r -> {
                g.get(0).communicator().allGather(g.get(0).allocate(DType.F16, 2, 3), g.get(0).allocate(DType.F16, 2, 6));
                return "returned";
            });
            Throwable e = assertInstanceOf(IllegalStateException.class, got.get(0));
            assertTrue(e.getMessage().contains("allGather on rank 0") && e.getMessage().contains("waited"), e.getMessage());
            assertTrue(e.getMessage().contains(CudaGroup.TIMEOUT_PROPERTY), e.getMessage());
        });
    }

    @Test
    void closingOneRankBreaksTheGroupForTheOthers() throws Exception {
        inGroup(2, g -> {
            g.get(1).close();
            long start = System.nanoTime();
            var e = assertThrows(IllegalStateException.class,
                    () -> g.get(0).communicator().allReduceSum(g.get(0).allocate(DType.F32, 8)));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
            assertTrue(e.getMessage().contains("allReduceSum on rank 0 failed")
                    && e.getMessage().contains("rank 1's cuda backend was closed"), e.getMessage());
        });
    }

    /** The body of a test on a group (it may close ranks: closing twice is a no-op). */
    @FunctionalInterface
    private interface GroupTest {
        void run(List<Backend> group) throws Exception;
    }

    /** Runs {@code test} on a new group of n ranks from device 0, then closes every rank. */
    private static void inGroup(int n, GroupTest test) throws Exception {
        inGroup(n, CollectiveProtocol.timeoutNanos(CudaGroup.TIMEOUT_PROPERTY), test);
    }

    private static void inGroup(int n, long timeoutNanos, GroupTest test) throws Exception {
        List<Backend> g = CudaGroup.create(n, 0, timeoutNanos);
        try {
            test.run(g);
        } finally {
            g.forEach(Backend::close);
        }
    }

    /** Runs {@code task} for ranks 0..n-1, each on its own thread; a rank's result or what it threw. */
    private static List<Object> onRanks(int n, IntFunction<Object> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Object>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try {
                        return task.apply(rank);
                    } catch (RuntimeException e) {
                        return e;
                    }
                }));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : fs) {
                out.add(f.get(120, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
