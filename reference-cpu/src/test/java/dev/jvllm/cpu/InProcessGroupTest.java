package dev.jvllm.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class InProcessGroupTest {

    /** A rank's body: gets its rank, returns what it observed. */
    @FunctionalInterface
    interface RankBody<T> {
        T run(int rank) throws Exception;
    }

    /** Runs one body per rank on its own thread; each entry is the value or the exception thrown. */
    static <T> List<Object> onRanks(int n, RankBody<T> body) throws InterruptedException {
        ExecutorService ex = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(ex.submit(() -> body.run(rank)));
            }
            List<Object> out = new ArrayList<>();
            for (Future<T> f : fs) {
                try {
                    out.add(f.get(30, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    out.add(e.getCause());
                } catch (TimeoutException e) {
                    fail("a rank hung for 30 s");
                }
            }
            return out;
        } finally {
            ex.shutdownNow();
        }
    }

    private static List<Backend> group(int n) {
        return new CpuProvider().createGroup(n, BackendOptions.defaults().withThreads(1));
    }

    /** A strided [rows, cols] view (row stride cols + 3, offset 1) holding values. */
    private static Tensor strided(Backend b, DType dt, float[] values, int rows, int cols) {
        Tensor view = b.allocate(dt, rows, cols + 3).narrowLast(1, cols);
        Tensors.writeFloats(view, values);
        return view;
    }

    /** Values spanning 2^−12 .. 2^12 with both signs, so the f32 sum order shows in the bits. */
    private static float[] values(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() - 0.5) * Math.scalb(1.0, r.nextInt(-12, 13)));
        }
        return v;
    }

    @Test
    void allReduceSumsInRankOrderAndEveryRankGetsTheSameBits() throws Exception {
        for (int n : new int[] {1, 2, 3, 4}) {
            for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                int rows = 5, cols = 37;
                SplittableRandom rnd = new SplittableRandom(n * 31L + dt.ordinal());
                float[][] in = new float[n][];
                for (int r = 0; r < n; r++) {
                    in[r] = values(rnd, rows * cols);
                    for (int i = 0; i < in[r].length; i++) {
                        in[r][i] = Numerics.roundTo(dt, in[r][i]);
                    }
                }
                float[] want = new float[rows * cols];
                for (int i = 0; i < want.length; i++) {
                    float s = in[0][i];
                    for (int r = 1; r < n; r++) {
                        s += in[r][i];
                    }
                    want[i] = Numerics.roundTo(dt, s);
                }
                List<Backend> g = group(n);
                List<Object> got = onRanks(n, r -> {
                    Tensor t = strided(g.get(r), dt, in[r], rows, cols);
                    g.get(r).communicator().allReduceSum(t);
                    return Tensors.toFloats(t);
                });
                for (int r = 0; r < n; r++) {
                    assertArrayEquals(want, (float[]) got.get(r), 0f, "n=" + n + " " + dt + " rank " + r);
                }
                g.forEach(Backend::close);
            }
        }
    }

    @Test
    void allGatherConcatenatesAlongTheLastDimensionInRankOrder() throws Exception {
        int n = 3, rows = 4, cols = 5;
        List<Backend> g = group(n);
        List<Object> got = onRanks(n, r -> {
            Backend b = g.get(r);
            float[] mine = new float[rows * cols];
            for (int i = 0; i < mine.length; i++) {
                mine[i] = 100 * r + i;
            }
            Tensor in = strided(b, DType.BF16, mine, rows, cols);
            Tensor out = b.allocate(DType.BF16, rows, n * cols + 2).narrowLast(2, n * cols);
            b.communicator().allGather(in, out);
            return Tensors.toFloats(out);
        });
        for (int r = 0; r < n; r++) {
            float[] out = (float[]) got.get(r);
            for (int row = 0; row < rows; row++) {
                for (int k = 0; k < n; k++) {
                    for (int c = 0; c < cols; c++) {
                        assertEquals(Numerics.roundTo(DType.BF16, 100 * k + row * cols + c),
                                out[row * n * cols + k * cols + c], "rank " + r + " row " + row + " from " + k);
                    }
                }
            }
        }
        g.forEach(Backend::close);
    }

    @Test
    void broadcastCopiesTheRootsTensorToEveryRank() throws Exception {
        int n = 4;
        List<Backend> g = group(n);
        for (int root = 0; root < n; root++) {
            int rt = root;
            List<Object> got = onRanks(n, r -> {
                Backend b = g.get(r);
                Tensor t = strided(b, DType.F32, new float[] {r, r + 0.5f, -r, 7 * r, 1, 2}, 2, 3);
                b.communicator().broadcast(t, rt);
                return Tensors.toFloats(t);
            });
            for (int r = 0; r < n; r++) {
                assertArrayEquals(new float[] {rt, rt + 0.5f, -rt, 7 * rt, 1, 2}, (float[]) got.get(r), 0f);
            }
        }
        g.forEach(Backend::close);
    }

    @Test
    void manyBackToBackCollectivesStayConsistent() throws Exception {
        // ranks run ahead of each other between collectives; every result must still be exact
        int n = 3, iters = 300;
        List<Backend> g = group(n);
        List<Object> got = onRanks(n, r -> {
            Backend b = g.get(r);
            Communicator c = b.communicator();
            SplittableRandom jitter = new SplittableRandom(r);
            for (int it = 0; it < iters; it++) {
                int cols = 1 + it % 17;
                if (jitter.nextInt(4) == 0) {
                    Thread.onSpinWait();
                    Thread.yield();
                }
                Tensor t = Tensors.fromFloats(b, DType.F32, filled(cols, r + it), 1, cols);
                switch (it % 3) {
                    case 0 -> {
                        c.allReduceSum(t);
                        float want = 0;
                        for (int k = 0; k < n; k++) {
                            want += k + it;
                        }
                        assertArrayEquals(filled(cols, want), Tensors.toFloats(t), 0f, "allReduce it " + it);
                    }
                    case 1 -> {
                        Tensor out = b.allocate(DType.F32, 1, n * cols);
                        c.allGather(t, out);
                        float[] o = Tensors.toFloats(out);
                        for (int k = 0; k < n; k++) {
                            assertEquals(k + it, o[k * cols], "allGather it " + it);
                        }
                    }
                    default -> {
                        int root = it % n;
                        c.broadcast(t, root);
                        assertArrayEquals(filled(cols, root + it), Tensors.toFloats(t), 0f, "broadcast it " + it);
                    }
                }
                t.close();
            }
            return "ok";
        });
        for (Object o : got) {
            assertEquals("ok", o, () -> o instanceof Throwable e ? e.toString() : String.valueOf(o));
        }
        g.forEach(Backend::close);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void aRankThatThrowsMakesTheOthersFailInsteadOfHanging() throws Exception {
        List<Communicator> comms = InProcessGroup.create(3, TimeUnit.MILLISECONDS.toNanos(300));
        try (CpuBackend b = CpuBackend.create()) {
            long start = System.nanoTime();
            List<Object> got = onRanks(3, r -> {
                if (r == 1) {
                    throw new IllegalStateException("model code failed on rank 1");
                }
                comms.get(r).allReduceSum(b.allocate(DType.F32, 4));
                return "returned";
            });
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
            for (int r : new int[] {0, 2}) {
                Throwable e = assertInstanceOf(IllegalStateException.class, got.get(r));
                assertTrue(e.getMessage().contains("allReduceSum") && e.getMessage().contains("broken"), e.getMessage());
            }
            // broken for good: the next call fails at once
            var e = assertThrows(IllegalStateException.class, () -> comms.get(0).broadcast(b.allocate(DType.F32, 1), 0));
            assertTrue(e.getMessage().contains("broadcast on rank 0 failed"), e.getMessage());
        }
    }

    @Test
    void anInvalidCallOnOneRankFailsTheOthersAtOnce() throws Exception {
        // default 60 s timeout: the others must not wait for it
        List<Communicator> comms = InProcessGroup.create(2);
        try (CpuBackend b = CpuBackend.create()) {
            long start = System.nanoTime();
            List<Object> got = onRanks(2, r -> {
                Tensor in = b.allocate(DType.F32, 2, 3);
                Tensor out = b.allocate(DType.F32, 2, r == 0 ? 6 : 5); // rank 1 passes a wrong output
                comms.get(r).allGather(in, out);
                return "returned";
            });
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the healthy rank waited");
            Throwable bad = assertInstanceOf(IllegalArgumentException.class, got.get(1));
            assertTrue(bad.getMessage().contains("expected F32[2, 6]"), bad.getMessage());
            Throwable other = assertInstanceOf(IllegalStateException.class, got.get(0));
            assertTrue(other.getMessage().contains("allGather on rank 1"), other.getMessage());
        }
    }

    @Test
    void mismatchedCollectivesFailOnEveryRank() throws Exception {
        List<Communicator> comms = InProcessGroup.create(2);
        try (CpuBackend b = CpuBackend.create()) {
            List<Object> got = onRanks(2, r -> {
                Tensor t = b.allocate(DType.F32, 2, r == 0 ? 3 : 4);
                comms.get(r).allReduceSum(t);
                return "returned";
            });
            for (Object o : got) {
                Throwable e = assertInstanceOf(IllegalStateException.class, o);
                assertTrue(e.getMessage().contains("ranks called different collectives"), e.getMessage());
                assertTrue(e.getMessage().contains("F32[2, 4]"), e.getMessage());
            }
        }
    }

    @Test
    void aRankThatNeverArrivesTimesOutNamingTheCollective() throws Exception {
        List<Communicator> comms = InProcessGroup.create(2, TimeUnit.MILLISECONDS.toNanos(200));
        try (CpuBackend b = CpuBackend.create()) {
            List<Object> got = onRanks(1, r -> {
                comms.get(0).broadcast(b.allocate(DType.F32, 3), 1);
                return "returned";
            });
            Throwable e = assertInstanceOf(IllegalStateException.class, got.get(0));
            assertTrue(e.getMessage().contains("broadcast") && e.getMessage().contains("waited"), e.getMessage());
        }
    }

    @Test
    void aGroupOfOneIsTheIdentity() {
        Communicator c = InProcessGroup.create(1).getFirst();
        try (CpuBackend b = CpuBackend.create()) {
            Tensor t = Tensors.fromFloats(b, DType.F32, new float[] {1, 2}, 2);
            c.allReduceSum(t);
            c.broadcast(t, 0);
            Tensor out = b.allocate(DType.F32, 2);
            c.allGather(t, out);
            assertArrayEquals(new float[] {1, 2}, Tensors.toFloats(out), 0f);
            assertArrayEquals(new float[] {1, 2}, Tensors.toFloats(t), 0f);
            assertThrows(IllegalArgumentException.class, () -> c.broadcast(t, 1));
        }
    }
}
