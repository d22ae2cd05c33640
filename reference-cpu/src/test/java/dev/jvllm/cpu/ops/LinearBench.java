package dev.jvllm.cpu.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A standalone benchmark of the SIMD linear (not a unit test: it has a main and no @Test).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp reference-cpu/target/classes:api/target/classes:reference-cpu/target/test-classes \
 *     dev.jvllm.cpu.ops.LinearBench [threads (0 = all cores)] [quick|full] [cases, e.g. decode-bf16,prefill-f32]
 * </pre>
 *
 * Prints GFLOP/s and GB/s (weights + activations + output bytes per call) against the nominal
 * peaks of the 2-core machine the targets were set for: 180 GFLOP/s FMA, 20 GB/s memory. Three
 * timings per case: wall-clock mean and best, and "cpu/thr", the CPU time of the calling and pool
 * threads divided by the thread count, which estimates the wall time on an otherwise idle
 * machine when the benchmark shares its cores with other processes (JIT compiler threads are
 * excluded; a thread that waits for its share of a loaded core does not accumulate CPU time).
 */
public final class LinearBench {
    private static final double PEAK_GFLOPS = 180;
    private static final double PEAK_GBS = 20;
    /** A constant species: the bandwidth probe's vector code must be compiled, not interpreted. */
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private LinearBench() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        boolean quick = args.length > 1 && args[1].equals("quick");
        Backend b = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
        System.out.println(b.description() + ", vector lanes " + LinearSimd.L);
        readBandwidth(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        List<String> only = args.length > 2 ? List.of(args[2].split(",")) : List.of();
        record Case(String name, int t, int k, int n, String fmt) { }
        List<Case> cases = new ArrayList<>(List.of(
                new Case("decode", 1, 2048, 8192, "bf16"),
                new Case("decode", 4, 2048, 8192, "bf16"),
                new Case("decode", 1, 2048, 8192, "f32"),
                new Case("decode", 1, 2048, 8192, "fp8-channel"),
                new Case("decode", 1, 2048, 8192, "fp8-block"),
                new Case("decode", 1, 2048, 8192, "int8"),
                new Case("decode", 1, 2048, 8192, "int4-g128"),
                new Case("prefill", 512, 2048, 2048, "f32"),
                new Case("prefill", 512, 2048, 2048, "bf16"),
                new Case("prefill-k8k", 256, 8192, 1024, "bf16"),
                new Case("prefill", 512, 2048, 2048, "int4-g128"),
                new Case("prefill", 512, 2048, 2048, "fp8-block")));
        for (Case c : cases) {
            if (!only.isEmpty() && !only.contains(c.name() + "-" + c.fmt())) {
                continue;
            }
            run(b, c.name(), c.t(), c.k(), c.n(), c.fmt(), quick);
        }
        b.close();
    }

    private static void run(Backend b, String name, int t, int k, int n, String fmt, boolean quick) {
        SplittableRandom r = new SplittableRandom(1);
        Tensor x = Tensors.fromFloats(b, DType.F32, rand(r, t * k), t, k);
        Tensor out = b.allocate(DType.F32, t, n);
        List<Tensor> owned = new ArrayList<>(List.of(x, out));
        LinearWeight w = weight(b, r, fmt, k, n, owned);
        double wBytes = w.tensors().stream().mapToDouble(z -> z.numel() * z.dtype().byteSize()).sum();
        Linear a = new Linear(x, w, null, out);
        double flops = 2.0 * t * k * n;
        double bytes = wBytes + 4.0 * t * k + 4.0 * t * n;
        // warm up (JIT), then time: wall clock, and process CPU time (a shared, loaded machine
        // stretches wall time; CPU time divided by the thread count estimates the quiet-machine time)
        long warm = quick ? 1_000_000_000L : 4_000_000_000L;
        long start = System.nanoTime();
        while (System.nanoTime() - start < warm) {
            b.linear(a);
        }
        int iters = 0;
        long best = Long.MAX_VALUE;
        long cpu0 = workerCpuNanos();
        start = System.nanoTime();
        while (System.nanoTime() - start < warm || iters < 3) {
            long s = System.nanoTime();
            b.linear(a);
            best = Math.min(best, System.nanoTime() - s);
            iters++;
        }
        double mean = (System.nanoTime() - start) / (double) iters;
        double cpuPerCall = (workerCpuNanos() - cpu0) / (double) iters / threads(b);
        for (String[] row : new String[][] {{"wall mean", String.valueOf(mean)}, {"wall best", String.valueOf(best)},
                {"cpu/thr", String.valueOf(cpuPerCall)}}) {
            double ns = Double.parseDouble(row[1]);
            double gf = flops / ns;
            double gb = bytes / ns;
            System.out.printf("%-8s T=%-4d K=%d N=%d W=%-11s x=f32 %-9s %9.3f ms %7.1f GFLOP/s (%5.1f%% of %.0f) %6.2f GB/s (%5.1f%% of %.0f)%n",
                    name, t, k, n, fmt, row[0], ns / 1e6, gf, 100 * gf / PEAK_GFLOPS, PEAK_GFLOPS, gb,
                    100 * gb / PEAK_GBS, PEAK_GBS);
        }
        owned.forEach(Tensor::close);
    }

    /**
     * The read bandwidth this machine gives right now: threads summing disjoint parts of a 256 MiB
     * array with vector adds (a STREAM-like probe; on a shared machine it moves with the load).
     */
    private static void readBandwidth(int threads) {
        float[] a = new float[64 << 20];
        java.util.Arrays.fill(a, 1f);
        double best = 0;
        for (int rep = 0; rep < 8; rep++) {
            long s = System.nanoTime();
            java.util.stream.IntStream.range(0, threads).parallel().forEach(p -> {
                int lo = (int) ((long) a.length * p / threads), hi = (int) ((long) a.length * (p + 1) / threads);
                FloatVector acc = FloatVector.zero(SPECIES);
                for (int i = lo; i + SPECIES.length() <= hi; i += SPECIES.length()) {
                    acc = acc.add(FloatVector.fromArray(SPECIES, a, i));
                }
                if (acc.lane(0) < 0) {
                    System.out.println();
                }
            });
            best = Math.max(best, 4.0 * a.length / (System.nanoTime() - s));
        }
        System.out.printf("read bandwidth probe (%d threads, 256 MiB): %.1f GB/s%n", threads, best);
    }

    /** CPU time of every Java thread but the JIT compilers (the caller and the pool's workers). */
    private static long workerCpuNanos() {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (var info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null && !info.getThreadName().contains("Compiler")) {
                sum += Math.max(0, mx.getThreadCpuTime(info.getThreadId()));
            }
        }
        return sum;
    }

    private static int threads(Backend b) {
        return ((CpuBackend) b).context().threads();
    }

    private static LinearWeight weight(Backend b, SplittableRandom r, String fmt, int k, int n, List<Tensor> owned) {
        LinearWeight w = switch (fmt) {
            case "f32" -> new LinearWeight.Dense(Tensors.fromFloats(b, DType.F32, rand(r, n * k), n, k));
            case "bf16" -> new LinearWeight.Dense(Tensors.fromFloats(b, DType.BF16, rand(r, n * k), n, k));
            case "fp8-channel" -> new LinearWeight.Fp8(Tensors.fromFloats(b, DType.F8_E4M3, rand(r, n * k), n, k),
                    Tensors.fromFloats(b, DType.F32, rand(r, n), n), 0, 0, null, false);
            case "fp8-block" -> new LinearWeight.Fp8(Tensors.fromFloats(b, DType.F8_E4M3, rand(r, n * k), n, k),
                    Tensors.fromFloats(b, DType.F32, rand(r, ((n + 127) / 128) * ((k + 127) / 128)), (n + 127) / 128,
                            (k + 127) / 128), 128, 128, null, false);
            case "int8" -> {
                byte[] q = new byte[n * k];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (byte) r.nextInt(256);
                }
                yield new LinearWeight.Int8(Tensors.fromBytes(b, DType.I8, q, n, k),
                        Tensors.fromFloats(b, DType.F32, rand(r, n), n));
            }
            case "int4-g128" -> {
                int[] q = new int[n * k / 8];
                for (int i = 0; i < q.length; i++) {
                    q[i] = r.nextInt();
                }
                yield new LinearWeight.Int4(Tensors.fromInts(b, q, n, k / 8),
                        Tensors.fromFloats(b, DType.BF16, rand(r, n * (k / 128)), n, k / 128), null, null, 128);
            }
            default -> throw new IllegalArgumentException(fmt);
        };
        owned.addAll(w.tensors());
        return w;
    }

    private static float[] rand(SplittableRandom r, int len) {
        float[] v = new float[len];
        for (int i = 0; i < len; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }
}
