import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Per-call thread CPU time of one linear (CPU backend, 1 thread: the caller runs every task), so
 * that preemption by the other processes of a shared machine does not count (wall-time JMH did
 * not give usable numbers at load 10-20). Weights built as LinearBench builds them. Run with the
 * benchmarks module's class path (source launcher):
 *
 *   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *       -cp "benchmarks/target/classes:benchmarks/target/lib/*" tools/bench/QuantLinearCpuTime.java \
 *       int8,fp8-channel 1 2048x8192 40            # FORMATS T KxN CALLS
 *
 * Formats: bf16, int8, fp8-channel, fp8-block, int4-g128, int4-g128-zp. Each is first warmed up on
 * a 512x256 weight for 8 s (cheap even interpreted), then timed on the given shape.
 */
public class QuantLinearCpuTime {
    static final SplittableRandom R = new SplittableRandom(42);

    static Tensor rnd(Backend b, DType dt, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (R.nextDouble() * 2 - 1);
        return Tensors.fromFloats(b, dt, v, shape);
    }

    static LinearWeight weight(Backend b, String f, int k, int n) {
        return switch (f) {
            case "bf16" -> new LinearWeight.Dense(rnd(b, DType.BF16, n, k));
            case "fp8-channel" -> new LinearWeight.Fp8(rnd(b, DType.F8_E4M3, n, k), rnd(b, DType.F32, n), 0, 0, null, false);
            case "fp8-block" -> new LinearWeight.Fp8(rnd(b, DType.F8_E4M3, n, k), rnd(b, DType.F32, (n + 127) / 128, (k + 127) / 128), 128, 128, null, false);
            case "int8" -> {
                byte[] q = new byte[n * k];
                for (int i = 0; i < q.length; i++) q[i] = (byte) R.nextInt(256);
                yield new LinearWeight.Int8(Tensors.fromBytes(b, DType.I8, q, n, k), rnd(b, DType.F32, n));
            }
            case "int4-g128", "int4-g128-zp" -> {
                int[] q = new int[n * k / 8];
                for (int i = 0; i < q.length; i++) q[i] = R.nextInt();
                Tensor zeros = null;
                if (f.endsWith("zp")) {
                    byte[] z = new byte[n * (k / 128)];
                    for (int i = 0; i < z.length; i++) z[i] = (byte) R.nextInt(16);
                    zeros = Tensors.fromBytes(b, DType.U8, z, n, k / 128);
                }
                yield new LinearWeight.Int4(Tensors.fromInts(b, q, n, k / 8), rnd(b, DType.BF16, n, k / 128), zeros, null, 128);
            }
            default -> throw new IllegalArgumentException(f);
        };
    }

    public static void main(String[] a) {
        String[] formats = a[0].split(",");
        int t = Integer.parseInt(a[1]);
        int k = Integer.parseInt(a[2].split("x")[0]), n = Integer.parseInt(a[2].split("x")[1]);
        int calls = Integer.parseInt(a[3]);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (CpuBackend b = CpuBackend.create(BackendOptions.defaults().withThreads(1))) {
            for (String f : formats) {
                // warm-up on a small shape until the kernels are compiled (calls there are cheap even interpreted)
                Linear small = new Linear(rnd(b, DType.F32, t, 512), weight(b, f, 512, 256), null, b.allocate(DType.F32, t, 256));
                long until = System.nanoTime() + 8_000_000_000L;
                int w = 0;
                while (System.nanoTime() < until || w < 2000) { b.linear(small); w++; }
                Linear big = new Linear(rnd(b, DType.F32, t, k), weight(b, f, k, n), null, b.allocate(DType.F32, t, n));
                for (int i = 0; i < 5; i++) b.linear(big);
                long[] cpu = new long[calls];
                for (int i = 0; i < calls; i++) {
                    long c0 = mx.getCurrentThreadCpuTime();
                    b.linear(big);
                    cpu[i] = mx.getCurrentThreadCpuTime() - c0;
                }
                Arrays.sort(cpu);
                double bytes = switch (f) { case "bf16" -> 2.0; case "int4-g128", "int4-g128-zp" -> 0.5 + 2.0 / 128; default -> 1.0; } * k * n;
                double med = cpu[calls / 2] / 1e3, min = cpu[0] / 1e3;
                System.out.printf(Locale.ROOT, "%-13s T=%d %dx%d  cpu us/call median %9.1f min %9.1f  GB/s(median) %6.2f (min) %6.2f  [load %s]%n",
                        f, t, k, n, med, min, bytes / med / 1e3, bytes / min / 1e3,
                        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            }
        }
    }
}
