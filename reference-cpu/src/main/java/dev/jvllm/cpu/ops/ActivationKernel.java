package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link Activation}: {@code out = f(x)} elementwise for every
 * {@link ActivationKind}, x and out F32/F16/BF16 in any mix, strided views allowed, out may be x.
 *
 * <p>Scalar form ({@link #apply(ActivationKind, double, double)}): each function evaluated in f64 with
 * {@code Math.exp/tanh/log1p} (GELU_ERF with the erf fit of {@link VectorMath#geluErf(double)}, |erf error| ≤ 5e-9),
 * rounded to f32, then once to out's dtype. SIMD form ({@link #apply(ActivationKind, float, float[], float[], int)}):
 * {@link Tiles} over the pool with the f32 Vector API approximations of {@link VectorMath}
 * (GELU_ERF in f64 lanes with the same erf fit; GELU_TANH as the equivalent x/(1+e^{−2u})). The
 * two forms agree to a few f32 ulp (RELU exactly), which the conformance tolerances allow.
 */
public final class ActivationKernel {
    private ActivationKernel() {
    }

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    public static boolean supports(Activation a) {
        return VectorMath.isActivationType(a.x().dtype()) && VectorMath.isActivationType(a.out().dtype());
    }

    public static void run(Activation a, CpuContext ctx) {
        Tensor x = a.x(), out = a.out();
        ActivationKind fn = a.fn();
        if (ctx.scalar()) {
            float[] row = new float[x.cols()];
            for (long r = 0; r < x.rows(); r++) {
                Rows.load(x, r, row, 0);
                for (int j = 0; j < row.length; j++) {
                    row[j] = (float) apply(fn, row[j], a.param());
                }
                Rows.store(out, r, row, 0);
            }
            return;
        }
        MemorySegment xs = CpuTensor.of(x).storage(), os = CpuTensor.of(out).storage();
        DType xt = x.dtype(), ot = out.dtype();
        float param = a.param();
        Tiles.run(ctx.pool(), x.rows(), x.cols(), 2, (r, c0, c1, buf, tmp, unused) -> {
            int n = c1 - c0;
            VectorMath.load(xs, x.layout().rowByteOffset(r) + (long) c0 * xt.byteSize(), xt, buf, 0, n);
            apply(fn, param, buf, tmp, n);
            VectorMath.store(buf, 0, n, ot, os, out.layout().rowByteOffset(r) + (long) c0 * ot.byteSize());
        });
    }

    /**
     * The scalar form of one activation, in f64: the definitions of {@link ActivationKind}.
     *
     * @param param the cap of TANH_SOFTCAP; ignored otherwise
     */
    static double apply(ActivationKind fn, double x, double param) {
        return switch (fn) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_ERF -> VectorMath.geluErf(x); // 0.5·x·(1 + erf(x/√2))
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case RELU -> Math.max(x, 0.0);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case SOFTPLUS -> x > 20 ? x : Math.log1p(Math.exp(x));
            case TANH_SOFTCAP -> param * Math.tanh(x / param);
        };
    }

    /**
     * The SIMD form: {@code a[j] = fn(a[j])} in place for j &lt; {@link VectorMath#padded}(n); lanes
     * past n are scratch padding and may hold anything; tmp is scratch of the same length.
     */
    static void apply(ActivationKind fn, float param, float[] a, float[] tmp, int n) {
        int len = VectorMath.padded(n);
        switch (fn) {
            case SILU -> VectorMath.silu(a, tmp, len);
            case GELU_ERF -> VectorMath.geluErf(a, len);
            case GELU_TANH -> VectorMath.geluTanh(a, tmp, len);
            case RELU -> {
                for (int j = 0; j < len; j += VectorMath.VL) {
                    FloatVector.fromArray(VectorMath.F, a, j).max(0f).intoArray(a, j);
                }
            }
            case SIGMOID -> VectorMath.sigmoid(a, len);
            case SOFTPLUS -> VectorMath.softplus(a, tmp, len);
            case TANH_SOFTCAP -> VectorMath.tanhSoftcap(a, tmp, len, param);
        }
    }
}
