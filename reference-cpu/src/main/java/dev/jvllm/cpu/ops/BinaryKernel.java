package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * CPU reference for {@link Binary}: {@code out = a + b} or {@code a × b} elementwise, b either a's
 * shape or one row {@code [C]} broadcast over a's rows. a, b, out are F32/F16/BF16 in any mix; the
 * inputs are widened exactly, the op is one f32 operation, the result is rounded once to out's
 * dtype. out may be a or b (in place); any operand may be a strided view.
 *
 * <p>Scalar form: row by row in plain f32. SIMD form: {@link Tiles} over the pool; each tile is
 * widened into scratch, combined with Vector API lanes and narrowed back. One IEEE f32 op per
 * element either way, so the forms agree bit for bit.
 */
public final class BinaryKernel {
    private BinaryKernel() {
    }

    public static boolean supports(Binary a) {
        return VectorMath.isActivationType(a.a().dtype()) && VectorMath.isActivationType(a.b().dtype())
                && VectorMath.isActivationType(a.out().dtype());
    }

    public static void run(Binary a, CpuContext ctx) {
        if (ctx.scalar()) {
            scalar(a);
        } else {
            simd(a, ctx);
        }
    }

    private static void scalar(Binary args) {
        Tensor a = args.a(), b = args.b(), out = args.out();
        int cols = a.cols();
        float[] x = new float[cols];
        float[] y = new float[cols];
        boolean add = args.op() == Binary.Op.ADD;
        for (long r = 0; r < a.rows(); r++) {
            Rows.load(a, r, x, 0);
            Rows.load(b, args.broadcastsB() ? 0 : r, y, 0);
            for (int j = 0; j < cols; j++) {
                x[j] = add ? x[j] + y[j] : x[j] * y[j];
            }
            Rows.store(out, r, x, 0);
        }
    }

    private static void simd(Binary args, CpuContext ctx) {
        Tensor a = args.a(), b = args.b(), out = args.out();
        MemorySegment as = CpuTensor.of(a).storage(), bs = CpuTensor.of(b).storage(), os = CpuTensor.of(out).storage();
        DType at = a.dtype(), bt = b.dtype(), ot = out.dtype();
        boolean add = args.op() == Binary.Op.ADD;
        boolean broadcast = args.broadcastsB();
        Tiles.run(ctx.pool(), a.rows(), a.cols(), 2, (r, c0, c1, x, y, unused) -> {
            int n = c1 - c0;
            VectorMath.load(as, a.layout().rowByteOffset(r) + (long) c0 * at.byteSize(), at, x, 0, n);
            VectorMath.load(bs, b.layout().rowByteOffset(broadcast ? 0 : r) + (long) c0 * bt.byteSize(), bt, y, 0, n);
            int len = VectorMath.padded(n);
            if (add) {
                for (int j = 0; j < len; j += VectorMath.VL) {
                    FloatVector.fromArray(VectorMath.F, x, j).add(FloatVector.fromArray(VectorMath.F, y, j)).intoArray(x, j);
                }
            } else {
                for (int j = 0; j < len; j += VectorMath.VL) {
                    FloatVector.fromArray(VectorMath.F, x, j).mul(FloatVector.fromArray(VectorMath.F, y, j)).intoArray(x, j);
                }
            }
            VectorMath.store(x, 0, n, ot, os, out.layout().rowByteOffset(r) + (long) c0 * ot.byteSize());
        });
    }
}
