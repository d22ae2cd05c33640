package dev.jvllm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * What this machine can do right now, measured the way the kernels run: the peak f32 FMA rate of
 * Vector API code on {@code threads} threads, and the memory read bandwidth of {@code threads}
 * threads streaming a buffer far larger than any last-level cache. On a shared machine both move
 * with the neighbours' load, so benchmarks probe them right before and after what they measure and
 * report figures as fractions of them.
 *
 * <p>FMA: each thread runs {@value #CHAINS} independent FMA chains of the preferred vector shape
 * (enough to cover the FMA latency on two or more pipes), so the loop is bound by FMA throughput only.
 * Bandwidth: each thread sums its contiguous part of a {@value #BUFFER_MIB} MiB off-heap buffer with
 * four vector accumulators; the best of several passes is reported (STREAM's convention).
 */
public final class MachineLimits {
    /** The limits measured at one moment. */
    public record Limits(int threads, double fmaGflops, double readGBs) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d threads: FMA peak %.1f GFLOP/s, read bandwidth %.2f GB/s", threads,
                    fmaGflops, readGBs);
        }

        /** The mean of two probes (before and after a measurement). */
        public Limits mean(Limits o) {
            return new Limits(threads, (fmaGflops + o.fmaGflops) / 2, (readGBs + o.readGBs) / 2);
        }
    }

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int CHAINS = 16;
    static final int BUFFER_MIB = 1024;
    private static final long FMA_ITERS = 2_000_000; // per thread and timed pass: ~0.1–0.2 s on 2–4 GHz cores
    private static MemorySegment buffer; // allocated once, kept: touching 1 GiB costs more than reading it

    private MachineLimits() {
    }

    /** Probes both limits on {@code threads} threads (about a second, plus one-time warm-up). */
    public static Limits probe(int threads) {
        return new Limits(threads, fmaGflops(threads), readGBs(threads));
    }

    /** Peak f32 FMA throughput in GFLOP/s (2 flops per lane per FMA), the best of 5 passes. */
    public static double fmaGflops(int threads) {
        for (int i = 0; i < 200; i++) {
            fmaLoop(2_000); // compile the loop before timing it
        }
        double best = 0;
        for (int pass = 0; pass < 5; pass++) {
            long ns = onThreads(threads, t -> fmaLoop(FMA_ITERS));
            best = Math.max(best, (double) threads * FMA_ITERS * CHAINS * F.length() * 2 / ns);
        }
        return best;
    }

    /** Read bandwidth in GB/s (1e9 bytes), the best of 8 passes over the buffer. */
    public static synchronized double readGBs(int threads) {
        if (buffer == null) {
            buffer = Arena.global().allocate((long) BUFFER_MIB << 20, 4096);
            buffer.fill((byte) 1); // fault the pages in
        }
        MemorySegment seg = buffer;
        long step = 4L * F.vectorByteSize();
        long per = seg.byteSize() / threads / step * step;
        for (int i = 0; i < 50; i++) {
            sum(seg, 0, 64 * step); // compile the loop before timing it
        }
        double best = 0;
        for (int pass = 0; pass < 8; pass++) {
            long ns = onThreads(threads, t -> sum(seg, t * per, (t + 1) * per));
            best = Math.max(best, (double) per * threads / ns);
        }
        return best;
    }

    /**
     * Runs {@code work(t)} on {@code threads} new threads released together; the nanoseconds from the
     * first thread's start to the last one's end (each thread takes its own timestamps: the caller may
     * be descheduled while they run).
     */
    private static long onThreads(int threads, java.util.function.IntToDoubleFunction work) {
        CyclicBarrier start = new CyclicBarrier(threads);
        long[] begin = new long[threads], end = new long[threads];
        double[] sink = new double[threads];
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                begin[id] = System.nanoTime();
                sink[id] = work.applyAsDouble(id);
                end[id] = System.nanoTime();
            }, "limits-probe-" + t);
            th.setDaemon(true);
            th.start();
            ts.add(th);
        }
        try {
            for (Thread th : ts) {
                th.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (Double.isNaN(Arrays.stream(sink).sum())) {
            System.out.print(""); // keeps the results alive
        }
        return Arrays.stream(end).max().orElseThrow() - Arrays.stream(begin).min().orElseThrow();
    }

    /** {@code iters} rounds of {@value #CHAINS} independent FMAs; returns a value that depends on all of them. */
    static double fmaLoop(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.9999999f);
        FloatVector c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(c), a2 = a1.add(c), a3 = a2.add(c);
        FloatVector a4 = a3.add(c), a5 = a4.add(c), a6 = a5.add(c), a7 = a6.add(c);
        FloatVector a8 = a7.add(c), a9 = a8.add(c), a10 = a9.add(c), a11 = a10.add(c);
        FloatVector a12 = a11.add(c), a13 = a12.add(c), a14 = a13.add(c), a15 = a14.add(c);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
            a12 = a12.fma(m, c);
            a13 = a13.fma(m, c);
            a14 = a14.fma(m, c);
            a15 = a15.fma(m, c);
        }
        FloatVector s = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .add(a12).add(a13).add(a14).add(a15);
        return s.reduceLanes(VectorOperators.ADD);
    }

    /** Sum of the floats in [from, to) (a multiple of four vectors), four accumulators deep. */
    static double sum(MemorySegment s, long from, long to) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long vb = F.vectorByteSize();
        for (long o = from; o < to; o += 4 * vb) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, o + vb, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, o + 2 * vb, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, o + 3 * vb, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /** Prints the limits of this machine: {@code MachineLimits [threads]}. */
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        System.out.println(probe(threads));
    }
}
