package dev.jvllm.bench.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.RmsNorm;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/** RMSNorm with the fused residual add (the pre-norm residual stream), f32, hidden 2048. */
public class RmsNormBench extends OpBench {
    static final int HIDDEN = 2048;

    @Param({"1", "128", "2048"})
    public int t;

    private RmsNorm args;

    @Setup
    public void setup() {
        open();
        Tensor x = random(DType.F32, t, HIDDEN);
        Tensor residual = random(DType.F32, t, HIDDEN);
        args = new RmsNorm(x, random(DType.F32, HIDDEN), residual, zeros(DType.F32, t, HIDDEN), residual, 1e-5f, false);
    }

    @Benchmark
    public Tensor rmsNorm() {
        backend.rmsNorm(args);
        return args.out();
    }

    /** {flops, bytes}: about 6 flops per element; x and residual read, residual and out written. */
    public static double[] work(String method, Map<String, String> p) {
        double elems = Double.parseDouble(p.get("t")) * HIDDEN;
        return new double[] {6 * elems, 16 * elems};
    }
}
