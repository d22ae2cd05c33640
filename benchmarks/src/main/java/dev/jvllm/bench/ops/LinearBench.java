package dev.jvllm.bench.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * {@code out[T, N] = x[T, K] · Wᵀ} on the CPU backend with f32 activations and f32 or bf16 weights,
 * at decode batch sizes (T = 1..8: bound by reading W) and prefill sizes (T = 128..2048: bound by
 * FMA throughput). Shapes are Llama-3.2-1B's: 2048×8192 is gate/up (K = hidden), 8192×2048 down
 * (K = intermediate), 2048×2048 q/o. The quantized formats run when asked for
 * ({@code -p weight=int8,fp8-channel,fp8-block,int4-g128}).
 */
public class LinearBench extends OpBench {
    @Param({"1", "4", "8", "128", "512", "2048"})
    public int t;
    /** K×N. */
    @Param({"2048x8192", "8192x2048", "2048x2048"})
    public String shape;
    @Param({"bf16", "f32"})
    public String weight;

    private Linear args;

    @Setup
    public void setup() {
        open();
        int k = k(shape), n = n(shape);
        Tensor x = random(DType.F32, t, k);
        args = new Linear(x, weight(k, n), null, zeros(DType.F32, t, n));
    }

    @Benchmark
    public Tensor linear() {
        backend.linear(args);
        return args.out();
    }

    private LinearWeight weight(int k, int n) {
        return switch (weight) {
            case "f32" -> new LinearWeight.Dense(random(DType.F32, n, k));
            case "bf16" -> new LinearWeight.Dense(random(DType.BF16, n, k));
            case "fp8-channel" -> new LinearWeight.Fp8(random(DType.F8_E4M3, n, k), random(DType.F32, n), 0, 0, null,
                    false);
            case "fp8-block" -> new LinearWeight.Fp8(random(DType.F8_E4M3, n, k),
                    random(DType.F32, (n + 127) / 128, (k + 127) / 128), 128, 128, null, false);
            case "int8" -> {
                byte[] q = new byte[n * k];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (byte) random.nextInt(256);
                }
                yield new LinearWeight.Int8(own(Tensors.fromBytes(backend, DType.I8, q, n, k)), random(DType.F32, n));
            }
            case "int4-g128" -> {
                int[] q = new int[n * k / 8];
                for (int i = 0; i < q.length; i++) {
                    q[i] = random.nextInt();
                }
                yield new LinearWeight.Int4(ints(q, n, k / 8), random(DType.BF16, n, k / 128), null, null, 128);
            }
            default -> throw new IllegalArgumentException("weight " + weight
                    + "; formats: f32, bf16, fp8-channel, fp8-block, int8, int4-g128");
        };
    }

    static int k(String shape) {
        return Integer.parseInt(shape.split("x")[0]);
    }

    static int n(String shape) {
        return Integer.parseInt(shape.split("x")[1]);
    }

    /** {flops, bytes}: 2·T·K·N; W once plus x and out in f32. */
    public static double[] work(String method, Map<String, String> p) {
        double t = Double.parseDouble(p.get("t")), k = k(p.get("shape")), n = n(p.get("shape"));
        double perWeight = switch (p.get("weight")) {
            case "f32" -> 4;
            case "bf16" -> 2;
            case "int4-g128" -> 0.5 + 2.0 / 128;
            default -> 1; // fp8, int8 (+ negligible scales)
        };
        return new double[] {2 * t * k * n, perWeight * k * n + 4 * t * k + 4 * t * n};
    }
}
