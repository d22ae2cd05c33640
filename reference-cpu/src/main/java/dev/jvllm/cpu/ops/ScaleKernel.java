package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Scale;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link Scale}: {@code out = x · factor}, one f32 multiply per element rounded
 * once to out's dtype. x and out are F32/F16/BF16 in any mix, strided views allowed, out may be x.
 *
 * <p>Scalar form: row by row in plain f32. SIMD form: {@link Tiles} over the pool, Vector API
 * multiplies on widened scratch. The forms agree bit for bit.
 */
public final class ScaleKernel {
    private ScaleKernel() {
    }

    public static boolean supports(Scale a) {
        return VectorMath.isActivationType(a.x().dtype()) && VectorMath.isActivationType(a.out().dtype());
    }

    public static void run(Scale a, CpuContext ctx) {
        Tensor x = a.x(), out = a.out();
        float f = a.factor();
        if (ctx.scalar()) {
            float[] row = new float[x.cols()];
            for (long r = 0; r < x.rows(); r++) {
                Rows.load(x, r, row, 0);
                for (int j = 0; j < row.length; j++) {
                    row[j] = row[j] * f;
                }
                Rows.store(out, r, row, 0);
            }
            return;
        }
        MemorySegment xs = CpuTensor.of(x).storage(), os = CpuTensor.of(out).storage();
        DType xt = x.dtype(), ot = out.dtype();
        Tiles.run(ctx.pool(), x.rows(), x.cols(), 1, (r, c0, c1, buf, unused, unused2) -> {
            int n = c1 - c0;
            VectorMath.load(xs, x.layout().rowByteOffset(r) + (long) c0 * xt.byteSize(), xt, buf, 0, n);
            for (int j = 0, len = VectorMath.padded(n); j < len; j += VectorMath.VL) {
                FloatVector.fromArray(VectorMath.F, buf, j).mul(f).intoArray(buf, j);
            }
            VectorMath.store(buf, 0, n, ot, os, out.layout().rowByteOffset(r) + (long) c0 * ot.byteSize());
        });
    }
}
