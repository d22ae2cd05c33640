package dev.jvllm.bench;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The CPU linear on one thread, timed by the thread's CPU time, against the FMA peak probed the same
 * way: figures that a shared machine's load distorts far less than wall time (a preempted thread
 * accrues no CPU time). The backend runs with one thread, so every task runs on the calling thread.
 *
 * <pre>
 * java … dev.jvllm.bench.GemmCpuTime [--weight bf16|f32] [--calls 7] [--warmup-s 4] [--mapped] T:KxN ...
 * </pre>
 * e.g. {@code 128:2048x8192 2048:8192x2048 1:2048x8192}. Prints, per case, the median and best CPU
 * milliseconds per call of {@code calls} timed calls, their GFLOP/s (2·T·K·N flops) and the fraction
 * of the peak (best of 5 probes before and after all cases).
 */
public final class GemmCpuTime {
    private GemmCpuTime() {
    }

    public static void main(String[] args) {
        String weight = "bf16";
        int calls = 7;
        double warmupS = 4;
        boolean mapped = false;
        List<String> cases = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--weight" -> weight = args[++i];
                case "--calls" -> calls = Integer.parseInt(args[++i]);
                case "--warmup-s" -> warmupS = Double.parseDouble(args[++i]);
                case "--mapped" -> mapped = true;
                default -> cases.add(args[i]);
            }
        }
        if (cases.isEmpty()) {
            cases = List.of("128:2048x8192", "128:8192x2048", "512:2048x8192", "2048:8192x2048", "1:2048x8192");
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double peakBefore = cpuTimePeak(mx);
        System.out.printf(Locale.ROOT, "load %s; FMA peak by CPU time, 1 thread: %.1f GFLOP/s%n", load(), peakBefore);
        List<String> lines = new ArrayList<>();
        double[] gflops = new double[cases.size()];
        try (CpuBackend b = CpuBackend.create(BackendOptions.defaults().withThreads(1));
                Arena mappings = Arena.ofShared()) {
            for (int c = 0; c < cases.size(); c++) {
                String cs = cases.get(c);
                int t = Integer.parseInt(cs.split(":")[0]);
                int k = Integer.parseInt(cs.split(":")[1].split("x")[0]);
                int n = Integer.parseInt(cs.split(":")[1].split("x")[1]);
                SplittableRandom r = new SplittableRandom(42);
                Tensor x = Tensors.fromFloats(b, DType.F32, uniform(r, t * k), t, k);
                Tensor w = Tensors.fromFloats(b, DType.valueOf(weight.toUpperCase(Locale.ROOT)), uniform(r, n * k), n, k);
                if (mapped) {
                    w = mappedCopy(b, w, mappings);
                }
                Tensor out = b.allocate(DType.F32, t, n);
                Linear a = new Linear(x, new LinearWeight.Dense(w), null, out);
                long until = System.nanoTime() + (long) (warmupS * 1e9);
                while (System.nanoTime() < until) {
                    b.linear(a);
                }
                double[] ms = new double[calls];
                for (int i = 0; i < calls; i++) {
                    long c0 = mx.getCurrentThreadCpuTime();
                    b.linear(a);
                    ms[i] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
                }
                Arrays.sort(ms);
                double flops = 2.0 * t * k * n;
                gflops[c] = flops / (ms[calls / 2] * 1e6);
                lines.add(String.format(Locale.ROOT, "%-16s %-5s median %9.3f ms  best %9.3f ms  %7.1f GFLOP/s (best %7.1f)",
                        cs, weight, ms[calls / 2], ms[0], gflops[c], flops / (ms[0] * 1e6)));
                x.close();
                w.close();
                out.close();
            }
        }
        double peakAfter = cpuTimePeak(mx);
        double peak = (peakBefore + peakAfter) / 2;
        System.out.printf(Locale.ROOT, "load %s; FMA peak after: %.1f GFLOP/s; against the mean %.1f:%n", load(), peakAfter,
                peak);
        for (int c = 0; c < lines.size(); c++) {
            System.out.printf(Locale.ROOT, "%s  %5.1f%% of peak%n", lines.get(c), 100 * gflops[c] / peak);
        }
    }

    /** The FMA probe's loop timed by this thread's CPU time: best of 5 passes, GFLOP/s. */
    static double cpuTimePeak(ThreadMXBean mx) {
        for (int i = 0; i < 200; i++) {
            MachineLimits.fmaLoop(2_000);
        }
        long iters = 2_000_000;
        double best = 0;
        for (int pass = 0; pass < 5; pass++) {
            long c0 = mx.getCurrentThreadCpuTime();
            double sink = MachineLimits.fmaLoop(iters);
            long ns = mx.getCurrentThreadCpuTime() - c0;
            if (Double.isNaN(sink)) {
                System.out.print("");
            }
            best = Math.max(best, (double) iters * MachineLimits.CHAINS * MachineLimits.F.length() * 2 / ns);
        }
        return best;
    }

    /**
     * {@code --mapped}: w's bytes written to a temporary file in one write and used from a read-only
     * mapping of it, as the engine uses a checkpoint's weights (a file written in large writes is
     * cached in 2 MiB folios, as the loader's huge-page advice makes a checkpoint read from disk).
     */
    private static Tensor mappedCopy(CpuBackend b, Tensor w, Arena mappings) {
        long bytes = w.numel() * w.dtype().byteSize();
        try {
            Path f = Files.createTempFile("gemm-weight", ".bin");
            f.toFile().deleteOnExit();
            try (Arena scratch = Arena.ofConfined();
                    FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                MemorySegment host = scratch.allocate(bytes, 64);
                b.read(w, host);
                ByteBuffer buf = host.asByteBuffer();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                Tensor mappedW = b.wrap(ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, mappings), w.dtype(), w.shape());
                w.close();
                return mappedW;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("--mapped: cannot write the weight to a temporary file", e);
        }
    }

    private static float[] uniform(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static String load() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
