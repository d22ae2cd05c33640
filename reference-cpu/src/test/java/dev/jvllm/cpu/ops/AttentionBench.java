package dev.jvllm.cpu.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.CpuBackend;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Paged-attention timings (not a unit test): decode over 4096 cached tokens and a 512-token
 * prefill, 32 heads, 8 KV heads, D = 128, f32 cache, block size 16. Prints µs, GB/s (cache bytes
 * read + q/out bytes) and GFLOP/s (4·H·D per query-key pair) for the SIMD and scalar forms.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp <classes>:<test-classes>
 * dev.jvllm.cpu.ops.AttentionBench [threads]}.
 */
public final class AttentionBench {
    private AttentionBench() {
    }

    /** A memory-read baseline: the two f32 caches of the decode case (33.5 MB) summed in parallel chunks. */
    private static void baseline(Backend b, int threads) {
        long bytes = 2L * 4096 * 8 * 128 * 4;
        java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(bytes, 64);
        var sp = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        int tasks = Math.max(1, threads);
        long per = bytes / tasks / 64 * 64;
        java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(tasks);
        float[] sink = new float[tasks];
        long[] ns = new long[40];
        for (int rep = 0; rep < 60; rep++) {
            long t0 = System.nanoTime();
            pool.submit(() -> java.util.stream.IntStream.range(0, tasks).parallel().forEach(t -> {
                var acc = jdk.incubator.vector.FloatVector.zero(sp);
                for (long o = t * per; o < (t + 1) * per; o += sp.vectorByteSize()) {
                    acc = acc.add(jdk.incubator.vector.FloatVector.fromMemorySegment(sp, seg, o,
                            java.nio.ByteOrder.LITTLE_ENDIAN));
                }
                sink[t] = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
            })).join();
            if (rep >= 20) {
                ns[rep - 20] = System.nanoTime() - t0;
            }
        }
        pool.shutdown();
        Arrays.sort(ns);
        System.out.printf("read baseline %d MB, %d threads: median %9.1f µs  %6.2f GB/s%n", bytes >> 20, tasks,
                ns[20] / 1e3, bytes / (ns[20] / 1e3) / 1e3);
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Backend simd = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
        Backend scalar = CpuBackend.create(BackendOptions.defaults().withThreads(threads).with("scalar", "true"));
        System.out.println("backend: " + simd.description() + "; java " + Runtime.version());
        baseline(simd, threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        for (boolean decode : new boolean[] {true, false}) {
            int len = decode ? 4096 : 512;
            AttentionProblem p = new AttentionProblem(new SplittableRandom(1), new int[] {decode ? 1 : len},
                    new int[] {len}, 32, 8, 128, 16, 0, 0, DType.F32, DType.F32, DType.F32, 0);
            double pairs = decode ? len : (double) len * (len + 1) / 2;
            double flops = 4.0 * 32 * 128 * pairs;
            double bytes = 2.0 * len * 8 * 128 * 4 + 2.0 * p.tokens * 32 * 128 * 4;
            String name = decode ? "decode  T=1, L=4096" : "prefill T=512     ";
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
}
