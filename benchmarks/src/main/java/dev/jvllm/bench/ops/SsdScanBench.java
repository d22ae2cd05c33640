package dev.jvllm.bench.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.api.ops.StateBatch;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Mamba-2 SSD scan of one sequence (prefill from a zero state), with the shape of a Mamba-2
 * 780M layer: 48 heads of 64 channels, one group, state 128, chunk 256.
 */
@Warmup(iterations = 5, time = 2) // big kernels: C2 takes a while, and interpreted calls take seconds
public class SsdScanBench extends OpBench {
    static final int HEADS = 48, HEAD_DIM = 64, GROUPS = 1, STATE = 128, CHUNK = 256;

    @Param({"256", "2048"})
    public int t;

    private SsdChunkScan args;

    @Setup
    public void setup() {
        open();
        Tensor x = random(DType.F32, t, HEADS * HEAD_DIM);
        Tensor dt = random(DType.F32, t, HEADS);
        float[] negative = new float[HEADS]; // A = −exp(A_log) < 0: a decaying state
        for (int h = 0; h < HEADS; h++) {
            negative[h] = -0.5f - h / (float) HEADS;
        }
        Tensor a = own(Tensors.fromFloats(backend, DType.F32, negative, HEADS));
        Tensor b = random(DType.F32, t, GROUPS * STATE);
        Tensor c = random(DType.F32, t, GROUPS * STATE);
        Tensor d = random(DType.F32, HEADS);
        Tensor dtBias = random(DType.F32, HEADS);
        Tensor states = zeros(DType.F32, 1, HEADS, HEAD_DIM, STATE);
        StateBatch batch = new StateBatch(ints(new int[] {0, t}, 2), ints(new int[] {0}, 1), ints(new int[] {0}, 1));
        args = new SsdChunkScan(x, dt, a, b, c, d, dtBias, true, 0f, Float.POSITIVE_INFINITY, GROUPS, CHUNK, states,
                batch, zeros(DType.F32, t, HEADS * HEAD_DIM));
    }

    @Benchmark
    public Tensor ssdChunkScan() {
        backend.ssdChunkScan(args);
        return args.out();
    }

    /**
     * {flops, bytes}: the recurrence's 2 FMAs per (token, head, channel, state) element (update and
     * output; the chunked form does a little more); x, B, C, dt read and out written in f32.
     */
    public static double[] work(String method, Map<String, String> p) {
        double t = Double.parseDouble(p.get("t"));
        return new double[] {4 * t * HEADS * HEAD_DIM * STATE,
                4 * t * (2.0 * HEADS * HEAD_DIM + 2.0 * GROUPS * STATE + HEADS)};
    }
}
