package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link GatedActivation}: {@code out[t, j] = f(x[t, j]) · x[t, N + j]} over a
 * fused {@code [gate | up]} row (vLLM's {@code silu_and_mul}, {@code gelu_and_mul},
 * {@code gelu_tanh_and_mul}), fn in SILU, GELU_ERF, GELU_TANH, RELU. x: [T, 2N]; out: [T, N]; both
 * F32/F16/BF16, strided views allowed (x is typically a view of a wider projection). f and the
 * product are formed in f32 and rounded once.
 *
 * <p>Scalar form: f in f64 ({@link ActivationKernel#apply(ActivationKind, double, double)}) rounded to
 * f32, then the f32 product. SIMD form: {@link Tiles} over [T, N]; the gate tile gets the Vector API
 * activation of {@link ActivationKernel#apply(ActivationKind, float, float[], float[], int)}, then the lane
 * product with the up tile. The forms agree to a few f32 ulp (RELU exactly).
 */
public final class GatedActivationKernel {
    private GatedActivationKernel() {
    }

    public static boolean supports(GatedActivation a) {
        ActivationKind fn = a.fn();
        boolean gateFn = fn == ActivationKind.SILU || fn == ActivationKind.GELU_ERF || fn == ActivationKind.GELU_TANH
                || fn == ActivationKind.RELU;
        return gateFn && VectorMath.isActivationType(a.x().dtype()) && VectorMath.isActivationType(a.out().dtype());
    }

    public static void run(GatedActivation a, CpuContext ctx) {
        if (!supports(a)) {
            throw new IllegalArgumentException("gated_activation: fn " + a.fn() + " with x " + a.x().describe()
                    + ", out " + a.out().describe() + " is not supported; use SILU, GELU_ERF, GELU_TANH or RELU on "
                    + "F32/F16/BF16");
        }
        Tensor x = a.x(), out = a.out();
        int n = out.cols();
        ActivationKind fn = a.fn();
        if (ctx.scalar()) {
            float[] row = new float[2 * n];
            float[] o = new float[n];
            for (int t = 0; t < x.dim(0); t++) {
                Rows.load(x, t, row, 0);
                for (int j = 0; j < n; j++) {
                    o[j] = (float) ActivationKernel.apply(fn, row[j], 0) * row[n + j];
                }
                Rows.store(out, t, o, 0);
            }
            return;
        }
        MemorySegment xs = CpuTensor.of(x).storage(), os = CpuTensor.of(out).storage();
        DType xt = x.dtype(), ot = out.dtype();
        long xes = xt.byteSize(), oes = ot.byteSize();
        Tiles.run(ctx.pool(), x.dim(0), n, 3, (t, c0, c1, g, u, tmp) -> {
            int len = c1 - c0;
            long rowOff = x.layout().rowByteOffset(t);
            VectorMath.load(xs, rowOff + c0 * xes, xt, g, 0, len);
            VectorMath.load(xs, rowOff + (n + c0) * xes, xt, u, 0, len);
            ActivationKernel.apply(fn, 0f, g, tmp, len);
            for (int j = 0, p = VectorMath.padded(len); j < p; j += VectorMath.VL) {
                FloatVector.fromArray(VectorMath.F, g, j).mul(FloatVector.fromArray(VectorMath.F, u, j)).intoArray(g, j);
            }
            VectorMath.store(g, 0, len, ot, os, out.layout().rowByteOffset(t) + c0 * oes);
        });
    }
}
