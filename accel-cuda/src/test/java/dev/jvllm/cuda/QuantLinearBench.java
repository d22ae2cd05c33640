package dev.jvllm.cuda;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times the quantized linear kernels (quant_mm.cu, quant_linear.cu) against dense bf16 (cuBLAS) at
 * a Llama-3-8B MLP shape (K = 4096, N = 14336) and the Llama-3.2-1B projections (qkv 2048→3072,
 * gate_up 2048→16384, down 8192→2048), bf16 x and out, T = 1, 4, 16, 128, 512. Per case: the
 * median of 5 event-timed batches of back-to-back calls; GB/s counts the weight's stored bytes
 * (packed values, scales, zero points, g_idx) once per call; "× dense" is the time over dense
 * bf16's at the same shape and T. Each row names the path the op routes to; at T = 16 the other
 * fast path is timed too (the routing threshold), and at the 8B shape the scalar fallback kernels
 * (the previous implementation).
 *
 * <p>Run on the GPU machine: {@code bash tools/gpu/run-tests.sh --main dev.jvllm.cuda.QuantLinearBench}.
 */
public final class QuantLinearBench {
    private static final int GROUP = 128;
    private static final int[][] SHAPES = {{4096, 14336}, {2048, 3072}, {2048, 16384}, {8192, 2048}};
    private static final int[] TOKENS = {1, 4, 16, 128, 512};
    private static final List<String> FORMATS = List.of("fp8-channel", "fp8-channel-dynamic", "fp8-block-dynamic",
            "int4-g128-sym", "int4-g128-zp-actorder", "int8");
    private final CudaBackend cuda;
    private final QuantLinearKernels kernels;
    private final List<Tensor> owned = new ArrayList<>();
    private final SplittableRandom random = new SplittableRandom(11);

    private QuantLinearBench(CudaBackend cuda) {
        this.cuda = cuda;
        this.kernels = new QuantLinearKernels(cuda.gpu());
    }

    public static void main(String[] args) {
        try (CudaBackend cuda = (CudaBackend) new CudaProvider().create(BackendOptions.defaults())) {
            System.out.println("device: " + cuda.description());
            new QuantLinearBench(cuda).run();
        }
    }

    private <T extends Tensor> T own(T t) {
        owned.add(t);
        return t;
    }

    private Tensor floats(DType t, double lo, double hi, int... shape) {
        float[] v = new float[Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b))];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        return own(Tensors.fromFloats(cuda, t, v, shape));
    }

    private LinearWeight weight(String format, int k, int n) {
        int groups = k / GROUP;
        return switch (format) {
            case "bf16" -> new LinearWeight.Dense(floats(DType.BF16, -0.05, 0.05, n, k));
            case "fp8-channel", "fp8-channel-dynamic", "fp8-block-dynamic" -> {
                byte[] q = new byte[n * k];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (byte) (random.nextInt(0x6F) | (random.nextBoolean() ? 0x80 : 0)); // finite e4m3
                }
                Tensor w = own(Tensors.fromBytes(cuda, DType.F8_E4M3, q, n, k));
                boolean block = format.equals("fp8-block-dynamic");
                Tensor s = block ? floats(DType.F32, 1e-3, 2e-3, n / 128, k / 128) : floats(DType.F32, 1e-3, 2e-3, n);
                yield new LinearWeight.Fp8(w, s, block ? 128 : 0, block ? 128 : 0, null, format.endsWith("dynamic"));
            }
            case "int4-g128-sym", "int4-g128-zp-actorder" -> {
                int[] words = new int[n * k / 8];
                for (int i = 0; i < words.length; i++) {
                    words[i] = random.nextInt();
                }
                Tensor zeros = null, gIdx = null;
                if (format.endsWith("actorder")) {
                    byte[] z = new byte[n * groups];
                    for (int i = 0; i < z.length; i++) {
                        z[i] = (byte) random.nextInt(16);
                    }
                    zeros = own(Tensors.fromBytes(cuda, DType.U8, z, n, groups));
                    int[] g = new int[k];
                    for (int i = 0; i < k; i++) {
                        g[i] = random.nextInt(groups);
                    }
                    gIdx = own(Tensors.fromInts(cuda, g, k));
                }
                yield new LinearWeight.Int4(own(Tensors.fromInts(cuda, words, n, k / 8)),
                        floats(DType.BF16, 0.01, 0.02, n, groups), zeros, gIdx, GROUP);
            }
            case "int8" -> {
                byte[] q = new byte[n * k];
                random.nextBytes(q);
                yield new LinearWeight.Int8(own(Tensors.fromBytes(cuda, DType.I8, q, n, k)), floats(DType.F32, 1e-3, 2e-3, n));
            }
            default -> throw new IllegalArgumentException(format);
        };
    }

    /** Milliseconds per call: median over 5 batches of back-to-back calls timed with events. */
    private double time(Runnable call) {
        Gpu gpu = cuda.gpu();
        for (int i = 0; i < 3; i++) {
            call.run();
        }
        cuda.synchronize();
        MemorySegment start = Driver.eventCreate(0), end = Driver.eventCreate(0);
        Driver.eventRecord(start, gpu.stream());
        call.run();
        Driver.eventRecord(end, gpu.stream());
        Driver.eventSynchronize(end);
        double one = Driver.eventElapsedMillis(start, end);
        int reps = (int) Math.max(3, Math.min(200, 8 / Math.max(one, 1e-3)));
        double[] batches = new double[5];
        for (int b = 0; b < batches.length; b++) {
            Driver.eventRecord(start, gpu.stream());
            for (int i = 0; i < reps; i++) {
                call.run();
            }
            Driver.eventRecord(end, gpu.stream());
            Driver.eventSynchronize(end);
            batches[b] = Driver.eventElapsedMillis(start, end) / reps;
        }
        cuda.synchronize();
        Driver.eventDestroy(start);
        Driver.eventDestroy(end);
        Arrays.sort(batches);
        return batches[batches.length / 2];
    }

    private void run() {
        System.out.println("| K→N | weight | T | path | µs | weight GB/s | × dense bf16 time |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (int[] shape : SHAPES) {
            int k = shape[0], n = shape[1];
            List<Tensor> xs = new ArrayList<>(), outs = new ArrayList<>();
            double[] dense = new double[TOKENS.length];
            for (int i = 0; i < TOKENS.length; i++) {
                xs.add(floats(DType.BF16, -1, 1, TOKENS[i], k));
                outs.add(own(cuda.allocate(DType.BF16, TOKENS[i], n)));
            }
            List<Tensor> shared = List.copyOf(owned);
            owned.clear();
            LinearWeight bf16 = weight("bf16", k, n);
            for (int i = 0; i < TOKENS.length; i++) {
                Linear op = new Linear(xs.get(i), bf16, null, outs.get(i));
                dense[i] = time(() -> cuda.run(op));
                row(k, n, bf16, TOKENS[i], "cublas", dense[i], dense[i]);
            }
            release();
            for (String f : FORMATS) {
                LinearWeight w = weight(f, k, n);
                for (int i = 0; i < TOKENS.length; i++) {
                    Linear op = new Linear(xs.get(i), w, null, outs.get(i));
                    QuantLinearKernels.Path routed = kernels.route(op);
                    row(k, n, w, TOKENS[i], routed.name().toLowerCase(Locale.ROOT), time(() -> kernels.run(op)), dense[i]);
                    for (QuantLinearKernels.Path other : List.of(QuantLinearKernels.Path.GEMV, QuantLinearKernels.Path.MMA,
                            QuantLinearKernels.Path.FALLBACK)) {
                        boolean compare = other == QuantLinearKernels.Path.FALLBACK ? k == 4096 && TOKENS[i] != 512
                                : TOKENS[i] == 16;
                        if (other != routed && compare && kernels.can(op, other)) {
                            row(k, n, w, TOKENS[i], other.name().toLowerCase(Locale.ROOT) + " (not routed)",
                                    time(() -> kernels.run(op, other)), dense[i]);
                        }
                    }
                }
                release();
            }
            shared.forEach(Tensor::close);
        }
    }

    private void row(int k, int n, LinearWeight w, int t, String path, double ms, double denseMs) {
        double bytes = w.tensors().stream().mapToDouble(x -> (double) x.numel() * x.dtype().byteSize()).sum();
        System.out.printf(Locale.ROOT, "| %d→%d | %s | %d | %s | %.1f | %.0f | %.2f |%n", k, n, w.formatName(), t, path,
                ms * 1e3, bytes / ms / 1e6, ms / denseMs);
    }

    private void release() {
        owned.forEach(Tensor::close);
        owned.clear();
    }
}
