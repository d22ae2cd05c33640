package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import dev.jvllm.api.ops.Fill;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * CPU reference for {@link Fill}: every element of dst = value in dst's dtype. Float dtypes: the
 * value is first rounded to f32 (as every f32 op result is), then to dst's dtype as {@link Cast
 * cast} rounds (F16 overflow → ±Inf, F8_E4M3 saturates at ±448). Integer dtypes: Java's narrowing
 * conversion, i.e. truncation toward zero ({@code (int)} for I32, {@code (long)} for I64,
 * {@code (byte)(int)} for I8/U8; NaN → 0), the rule {@link dev.jvllm.api.Tensors#fromFloats} uses.
 *
 * <p>Scalar form: the element's bytes written element by element. SIMD form: one row written, then
 * copied to every other row (or {@code MemorySegment.fill} when all bytes of the element are
 * equal, e.g. zeros), rows spread over the pool for large tensors.
 *
 * @see dev.jvllm.api.ops.Cast
 */
public final class FillKernel {
    private FillKernel() {
    }

    /** Every dtype. */
    public static boolean supports(Fill a) {
        return true;
    }

    public static void run(Fill a, CpuContext ctx) {
        Tensor dst = a.dst();
        if (dst.numel() == 0) {
            return;
        }
        byte[] e = encode(dst.dtype(), a.value());
        MemorySegment seg = CpuTensor.of(dst).storage();
        TensorLayout l = dst.layout();
        int cols = dst.cols();
        long rows = dst.rows();
        int es = e.length;
        if (ctx.scalar()) {
            for (long r = 0; r < rows; r++) {
                long base = l.rowByteOffset(r);
                for (long j = 0; j < (long) cols * es; j++) {
                    seg.set(ValueLayout.JAVA_BYTE, base + j, e[(int) (j % es)]);
                }
            }
            return;
        }
        long rowBytes = (long) cols * es;
        boolean uniform = true;
        for (byte x : e) {
            uniform &= x == e[0];
        }
        if (uniform && dst.isContiguous()) {
            seg.asSlice(l.byteOffset(), rows * rowBytes).fill(e[0]);
            return;
        }
        // row 0 by doubling copies, then every other row from it
        long base0 = l.rowByteOffset(0);
        MemorySegment.copy(MemorySegment.ofArray(e), 0, seg, base0, es);
        for (long done = es; done < rowBytes; done *= 2) {
            MemorySegment.copy(seg, base0, seg, base0 + done, Math.min(done, rowBytes - done));
        }
        ctx.pool().forRange(Math.toIntExact(rows - 1), (int) Math.max(1, (1 << 18) / rowBytes), (r0, r1) -> {
            for (long r = r0 + 1; r <= r1; r++) {
                MemorySegment.copy(seg, base0, seg, l.rowByteOffset(r), rowBytes);
            }
        });
    }

    /** The little-endian bytes of one element holding {@code value} in {@code dt}. */
    static byte[] encode(DType dt, double value) {
        float f = (float) value;
        MemorySegment m = MemorySegment.ofArray(new byte[dt.byteSize()]);
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        switch (dt) {
            case F32 -> m.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, f);
            case BF16 -> m.set(i16, 0, Numerics.f32ToBf16(f));
            case F16 -> m.set(i16, 0, Numerics.f32ToF16(f));
            case F8_E4M3 -> m.set(ValueLayout.JAVA_BYTE, 0, Numerics.f32ToE4M3(f));
            case I8, U8 -> m.set(ValueLayout.JAVA_BYTE, 0, (byte) (int) value);
            case I32 -> m.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, (int) value);
            case I64 -> m.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, (long) value);
        }
        return m.toArray(ValueLayout.JAVA_BYTE);
    }
}
