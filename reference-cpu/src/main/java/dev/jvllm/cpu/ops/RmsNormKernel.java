package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link RmsNorm}, per row of H: optional {@code r = x + residual} (f32, rounded
 * to residualOut's dtype, stored, and the rounded r normalized), {@code inv = 1/sqrt(mean(r²) + eps)}
 * and {@code n = r · inv} in f32; Llama form: n rounded to x's dtype, times w in f32; Gemma form:
 * n · (1 + w) in f32; rounded once to out's dtype. All tensors F32/F16/BF16 in any mix; out may be
 * x and residualOut may be residual (each row is read completely before it is written).
 *
 * <p>Scalar form: the mean of squares accumulated in f64 and rounded to f32, then the f32 steps
 * above element by element. SIMD form: rows spread over the pool; each row widened into scratch,
 * Σr² in f32 with {@link VectorMath#sumSquares} (a fixed lane/block order, independent of the
 * thread count and JIT state), the scaling in Vector API lanes. The forms differ only by the f32
 * vs f64 accumulation of Σr² (a relative 1e-7 on inv).
 */
public final class RmsNormKernel {
    private RmsNormKernel() {
    }

    public static boolean supports(RmsNorm a) {
        return VectorMath.isActivationType(a.x().dtype()) && VectorMath.isActivationType(a.weight().dtype())
                && VectorMath.isActivationType(a.out().dtype())
                && (a.residual() == null || VectorMath.isActivationType(a.residual().dtype())
                        && VectorMath.isActivationType(a.residualOut().dtype()));
    }

    public static void run(RmsNorm a, CpuContext ctx) {
        if (ctx.scalar()) {
            scalar(a);
        } else {
            simd(a, ctx);
        }
    }

    /** 1/sqrt(ms + eps) rounded to f32: shared by both forms so that equal ms gives equal inv. */
    static float invRms(float ms, float eps) {
        return (float) (1.0 / Math.sqrt((double) ms + eps));
    }

    private static void scalar(RmsNorm a) {
        Tensor x = a.x();
        int h = x.cols();
        float[] w = new float[h];
        Rows.load(a.weight(), 0, w, 0);
        float[] r = new float[h];
        float[] res = new float[h];
        float[] o = new float[h];
        DType xt = x.dtype();
        for (int t = 0; t < x.dim(0); t++) {
            Rows.load(x, t, r, 0);
            if (a.residual() != null) {
                Rows.load(a.residual(), t, res, 0);
                for (int j = 0; j < h; j++) {
                    r[j] = Numerics.roundTo(a.residualOut().dtype(), r[j] + res[j]);
                }
                Rows.store(a.residualOut(), t, r, 0);
            }
            double ss = 0;
            for (int j = 0; j < h; j++) {
                ss += (double) r[j] * r[j];
            }
            float inv = invRms((float) (ss / h), a.eps());
            for (int j = 0; j < h; j++) {
                float n = r[j] * inv;
                o[j] = a.gemma() ? n * (1f + w[j]) : Numerics.roundTo(xt, n) * w[j];
            }
            Rows.store(a.out(), t, o, 0);
        }
    }

    private static void simd(RmsNorm a, CpuContext ctx) {
        Tensor x = a.x(), out = a.out(), residual = a.residual(), residualOut = a.residualOut();
        int h = x.cols();
        int tokens = x.dim(0);
        if (tokens == 0 || h == 0) {
            return;
        }
        int len = VectorMath.padded(h);
        // w (Llama) or 1 + w (Gemma), widened once and shared read-only by every task
        float[] w = new float[len];
        VectorMath.load(CpuTensor.of(a.weight()).storage(), a.weight().layout().byteOffset(), a.weight().dtype(), w, 0, h);
        if (a.gemma()) {
            for (int j = 0; j < h; j++) {
                w[j] = 1f + w[j];
            }
        }
        MemorySegment xs = CpuTensor.of(x).storage(), os = CpuTensor.of(out).storage();
        MemorySegment rs = residual == null ? null : CpuTensor.of(residual).storage();
        MemorySegment ros = residual == null ? null : CpuTensor.of(residualOut).storage();
        DType xt = x.dtype(), ot = out.dtype();
        float eps = a.eps();
        boolean gemma = a.gemma();
        var sp = VectorMath.F;
        ctx.pool().forRange(tokens, Tiles.rowGrain(h), (t0, t1) -> {
            float[] r = new float[len];
            float[] res = residual == null ? null : new float[len];
            for (int t = t0; t < t1; t++) {
                VectorMath.load(xs, x.layout().rowByteOffset(t), xt, r, 0, h);
                if (residual != null) {
                    VectorMath.load(rs, residual.layout().rowByteOffset(t), residual.dtype(), res, 0, h);
                    for (int j = 0; j < len; j += VectorMath.VL) {
                        FloatVector.fromArray(sp, r, j).add(FloatVector.fromArray(sp, res, j)).intoArray(r, j);
                    }
                    VectorMath.store(r, 0, h, residualOut.dtype(), ros, residualOut.layout().rowByteOffset(t));
                    VectorMath.roundTo(residualOut.dtype(), r, 0, h);
                }
                float inv = invRms(VectorMath.sumSquares(r, 0, h) / h, eps);
                if (gemma) {
                    for (int j = 0; j < len; j += VectorMath.VL) {
                        FloatVector.fromArray(sp, r, j).mul(inv).mul(FloatVector.fromArray(sp, w, j)).intoArray(r, j);
                    }
                } else {
                    for (int j = 0; j < len; j += VectorMath.VL) {
                        FloatVector.fromArray(sp, r, j).mul(inv).intoArray(r, j);
                    }
                    VectorMath.roundTo(xt, r, 0, h);
                    for (int j = 0; j < len; j += VectorMath.VL) {
                        FloatVector.fromArray(sp, r, j).mul(FloatVector.fromArray(sp, w, j)).intoArray(r, j);
                    }
                }
                VectorMath.store(r, 0, h, ot, os, out.layout().rowByteOffset(t));
            }
        });
    }
}
