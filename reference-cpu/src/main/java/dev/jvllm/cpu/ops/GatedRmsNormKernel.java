package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link GatedRmsNorm} (Mamba-2's {@code RMSNormGated}), per row and per group of
 * {@code groupSize} channels: gate first ({@code g = x · silu(z)}, {@code out = g · rms⁻¹(g) · w}) or,
 * with normBeforeGate, {@code out = x · rms⁻¹(x) · w · silu(z)}, where
 * {@code rms⁻¹(v) = 1/sqrt(mean_group(v²) + eps)}; all in f32, rounded once. Tensors F32/F16/BF16 in
 * any mix; out may be x.
 *
 * <p>Scalar form: everything in f64 per element (silu with {@code Math.exp}), group sums of squares
 * in f64. SIMD form: rows spread over the pool; silu in Vector API lanes ({@link VectorMath#silu(float[], float[], int)}),
 * group Σ in f32 with the fixed order of {@link VectorMath#sumSquares} (results independent of the
 * thread count). The forms agree to a few f32 ulp.
 */
public final class GatedRmsNormKernel {
    private GatedRmsNormKernel() {
    }

    public static boolean supports(GatedRmsNorm a) {
        return VectorMath.isActivationType(a.x().dtype()) && VectorMath.isActivationType(a.z().dtype())
                && VectorMath.isActivationType(a.weight().dtype()) && VectorMath.isActivationType(a.out().dtype());
    }

    public static void run(GatedRmsNorm a, CpuContext ctx) {
        if (ctx.scalar()) {
            scalar(a);
        } else {
            simd(a, ctx);
        }
    }

    private static void scalar(GatedRmsNorm a) {
        Tensor x = a.x();
        int d = x.cols();
        int gs = a.groupSize();
        float[] w = new float[d];
        Rows.load(a.weight(), 0, w, 0);
        float[] xr = new float[d];
        float[] zr = new float[d];
        double[] v = new double[d];
        float[] o = new float[d];
        for (int t = 0; t < x.dim(0); t++) {
            Rows.load(x, t, xr, 0);
            Rows.load(a.z(), t, zr, 0);
            for (int j = 0; j < d; j++) {
                double gate = zr[j] / (1 + Math.exp(-(double) zr[j]));
                v[j] = a.normBeforeGate() ? xr[j] : xr[j] * gate;
            }
            for (int g0 = 0; g0 < d; g0 += gs) {
                double ss = 0;
                for (int j = g0; j < g0 + gs; j++) {
                    ss += v[j] * v[j];
                }
                double inv = 1 / Math.sqrt(ss / gs + a.eps());
                for (int j = g0; j < g0 + gs; j++) {
                    double y = v[j] * inv * w[j];
                    if (a.normBeforeGate()) {
                        y *= zr[j] / (1 + Math.exp(-(double) zr[j]));
                    }
                    o[j] = (float) y;
                }
            }
            Rows.store(a.out(), t, o, 0);
        }
    }

    private static void simd(GatedRmsNorm a, CpuContext ctx) {
        Tensor x = a.x(), z = a.z(), out = a.out();
        int d = x.cols();
        int tokens = x.dim(0);
        if (tokens == 0 || d == 0) {
            return;
        }
        int gs = a.groupSize();
        int len = VectorMath.padded(d);
        float[] w = new float[len];
        VectorMath.load(CpuTensor.of(a.weight()).storage(), a.weight().layout().byteOffset(), a.weight().dtype(), w, 0, d);
        MemorySegment xs = CpuTensor.of(x).storage(), zs = CpuTensor.of(z).storage(), os = CpuTensor.of(out).storage();
        DType xt = x.dtype(), zt = z.dtype(), ot = out.dtype();
        float eps = a.eps();
        boolean normFirst = a.normBeforeGate();
        var sp = VectorMath.F;
        int vl = VectorMath.VL;
        ctx.pool().forRange(tokens, Tiles.rowGrain(2L * d), (t0, t1) -> {
            float[] v = new float[len];
            float[] g = new float[len];
            float[] tmp = new float[len];
            for (int t = t0; t < t1; t++) {
                VectorMath.load(xs, x.layout().rowByteOffset(t), xt, v, 0, d);
                VectorMath.load(zs, z.layout().rowByteOffset(t), zt, g, 0, d);
                VectorMath.silu(g, tmp, len);
                if (!normFirst) {
                    for (int j = 0; j < len; j += vl) {
                        FloatVector.fromArray(sp, v, j).mul(FloatVector.fromArray(sp, g, j)).intoArray(v, j);
                    }
                }
                for (int g0 = 0; g0 < d; g0 += gs) {
                    float inv = (float) (1.0 / Math.sqrt((double) (VectorMath.sumSquares(v, g0, gs) / gs) + eps));
                    int j = g0;
                    for (int bound = g0 + gs - vl; j <= bound; j += vl) {
                        FloatVector.fromArray(sp, v, j).mul(inv).mul(FloatVector.fromArray(sp, w, j)).intoArray(v, j);
                    }
                    for (; j < g0 + gs; j++) {
                        v[j] = v[j] * inv * w[j];
                    }
                }
                if (normFirst) {
                    for (int j = 0; j < len; j += vl) {
                        FloatVector.fromArray(sp, v, j).mul(FloatVector.fromArray(sp, g, j)).intoArray(v, j);
                    }
                }
                VectorMath.store(v, 0, d, ot, os, out.layout().rowByteOffset(t));
            }
        });
    }
}
