package dev.jvllm.cpu.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Paged-attention timings (a main program, not a unit test): decode over 4096 cached tokens and a
 * 512-token prefill, 32 heads, 8 KV heads, D = 128, f32 cache, block size 16, shuffled blocks.
 * Prints µs, GB/s (cache bytes read + q/out bytes) and GFLOP/s (4·H·D per query-key pair) for the
 * SIMD and scalar forms, after a plain parallel read of the same 33.5 MB for comparison.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp <classes>:<test-classes>
 * dev.jvllm.cpu.ops.AttentionBench [threads]}.
 */
public final class AttentionBench {
    private static final int HEADS = 32, KV_HEADS = 8, D = 128, BLOCK = 16;

    private AttentionBench() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Backend simd = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
        Backend scalar = CpuBackend.create(BackendOptions.defaults().withThreads(threads).with("scalar", "true"));
        System.out.println("backend: " + simd.description() + "; java " + Runtime.version());
        readBaseline(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        for (boolean decode : new boolean[] {true, false}) {
            int len = decode ? 4096 : 512;
            AttentionProblem p = new AttentionProblem(new SplittableRandom(1), new int[] {decode ? 1 : len},
                    new int[] {len}, HEADS, KV_HEADS, D, BLOCK, 0, 0, DType.F32, DType.F32, DType.F32, 0);
            double pairs = decode ? len : (double) len * (len + 1) / 2;
            double flops = 4.0 * HEADS * D * pairs;
            double bytes = 2.0 * len * KV_HEADS * D * 4 + 2.0 * p.tokens * HEADS * D * 4;
            String name = decode ? "decode  T=1, L=4096" : "prefill T=512      ";
            for (Backend b : new Backend[] {simd, scalar}) {
                PagedAttention a = p.args(b);
                boolean isScalar = b == scalar;
                int warm = isScalar ? 1 : 30, reps = isScalar ? 3 : 50;
                for (int i = 0; i < warm; i++) {
                    b.pagedAttention(a);
                }
                long[] ns = new long[reps];
                for (int i = 0; i < reps; i++) {
                    long t0 = System.nanoTime();
                    b.pagedAttention(a);
                    ns[i] = System.nanoTime() - t0;
                }
                Arrays.sort(ns);
                double us = ns[reps / 2] / 1e3;
                System.out.printf("%s %-6s median %9.1f µs (min %9.1f)  %6.2f GB/s  %7.2f GFLOP/s%n", name,
                        isScalar ? "scalar" : "simd", us, ns[0] / 1e3, bytes / us / 1e3, flops / us / 1e3);
            }
        }
    }

    /** The decode case's cache bytes (33.5 MB, contiguous) summed by {@code threads} parallel tasks. */
    private static void readBaseline(int threads) {
        long bytes = 2L * 4096 * KV_HEADS * D * 4;
        MemorySegment seg = Arena.ofAuto().allocate(bytes, 64);
        VectorSpecies<Float> sp = FloatVector.SPECIES_PREFERRED;
        long per = bytes / threads / 64 * 64;
        float[] sink = new float[threads];
        long[] ns = new long[40];
        try (ForkJoinPool pool = new ForkJoinPool(threads)) {
            for (int rep = 0; rep < 60; rep++) {
                long t0 = System.nanoTime();
                pool.submit(() -> IntStream.range(0, threads).parallel().forEach(t -> {
                    FloatVector acc = FloatVector.zero(sp);
                    for (long o = t * per; o < (t + 1) * per; o += sp.vectorByteSize()) {
                        acc = acc.add(FloatVector.fromMemorySegment(sp, seg, o, ByteOrder.LITTLE_ENDIAN));
                    }
                    sink[t] = acc.reduceLanes(VectorOperators.ADD);
                })).join();
                if (rep >= 20) {
                    ns[rep - 20] = System.nanoTime() - t0;
                }
            }
        }
        Arrays.sort(ns);
        System.out.printf("read baseline %.1f MB, %d threads: median %9.1f µs  %6.2f GB/s%n", bytes / 1e6, threads,
                ns[20] / 1e3, bytes / (ns[20] / 1e3) / 1e3);
    }
}
