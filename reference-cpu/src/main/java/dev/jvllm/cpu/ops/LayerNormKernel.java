package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.LayerNorm;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link LayerNorm}: per row, {@code mean}, biased {@code var} (two passes), then
 * {@code out = (x − mean) · 1/sqrt(var + eps) · w + b}, rounded once to out's dtype. All tensors
 * F32/F16/BF16 in any mix; bias optional; out may be x.
 *
 * <p>Scalar form: mean and variance accumulated in f64, the affine step in f64, rounded to f32 and
 * then to out's dtype. SIMD form: rows spread over the pool; Σx and Σ(x − mean)² in f32 with the
 * fixed-order {@link VectorMath#sum} / {@link VectorMath#sumSquaredDiff} (results independent of
 * the thread count), the affine step in f32 lanes. The forms agree to a few f32 ulp.
 */
public final class LayerNormKernel {
    private LayerNormKernel() {
    }

    public static boolean supports(LayerNorm a) {
        return VectorMath.isActivationType(a.x().dtype()) && VectorMath.isActivationType(a.weight().dtype())
                && VectorMath.isActivationType(a.out().dtype())
                && (a.bias() == null || VectorMath.isActivationType(a.bias().dtype()));
    }

    public static void run(LayerNorm a, CpuContext ctx) {
        if (ctx.scalar()) {
            scalar(a);
        } else {
            simd(a, ctx);
        }
    }

    private static void scalar(LayerNorm a) {
        Tensor x = a.x();
        int h = x.cols();
        float[] w = new float[h];
        float[] b = new float[h];
        Rows.load(a.weight(), 0, w, 0);
        if (a.bias() != null) {
            Rows.load(a.bias(), 0, b, 0);
        }
        float[] row = new float[h];
        for (int t = 0; t < x.dim(0); t++) {
            Rows.load(x, t, row, 0);
            double sum = 0;
            for (int j = 0; j < h; j++) {
                sum += row[j];
            }
            double mean = sum / h;
            double sq = 0;
            for (int j = 0; j < h; j++) {
                sq += (row[j] - mean) * (row[j] - mean);
            }
            double inv = 1 / Math.sqrt(sq / h + a.eps());
            for (int j = 0; j < h; j++) {
                row[j] = (float) ((row[j] - mean) * inv * w[j] + b[j]);
            }
            Rows.store(a.out(), t, row, 0);
        }
    }

    private static void simd(LayerNorm a, CpuContext ctx) {
        Tensor x = a.x(), out = a.out();
        int h = x.cols();
        int tokens = x.dim(0);
        if (tokens == 0 || h == 0) {
            return;
        }
        int len = VectorMath.padded(h);
        float[] w = new float[len];
        float[] b = new float[len];
        VectorMath.load(CpuTensor.of(a.weight()).storage(), a.weight().layout().byteOffset(), a.weight().dtype(), w, 0, h);
        if (a.bias() != null) {
            VectorMath.load(CpuTensor.of(a.bias()).storage(), a.bias().layout().byteOffset(), a.bias().dtype(), b, 0, h);
        }
        MemorySegment xs = CpuTensor.of(x).storage(), os = CpuTensor.of(out).storage();
        DType xt = x.dtype(), ot = out.dtype();
        float eps = a.eps();
        var sp = VectorMath.F;
        ctx.pool().forRange(tokens, Tiles.rowGrain(h), (t0, t1) -> {
            float[] row = new float[len];
            for (int t = t0; t < t1; t++) {
                VectorMath.load(xs, x.layout().rowByteOffset(t), xt, row, 0, h);
                float mean = VectorMath.sum(row, 0, h) / h;
                float var = VectorMath.sumSquaredDiff(row, 0, h, mean) / h;
                float inv = (float) (1.0 / Math.sqrt((double) var + eps));
                for (int j = 0; j < len; j += VectorMath.VL) {
                    FloatVector.fromArray(sp, row, j).sub(mean).mul(inv)
                            .fma(FloatVector.fromArray(sp, w, j), FloatVector.fromArray(sp, b, j)).intoArray(row, j);
                }
                VectorMath.store(row, 0, h, ot, os, out.layout().rowByteOffset(t));
            }
        });
    }
}
