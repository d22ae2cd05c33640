package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Rotary;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;

/**
 * CPU reference for {@link Rotary}: rotates, in place, the first rotaryDim channels of every head of
 * q and k by the angle of the token's position, whose {@code cos | sin} halves are row
 * {@code positions[t]} of cosSin. Neox pairs channel i with i + rotaryDim/2, GPT-J pairs 2i with
 * 2i+1; {@code (a, b) → (a·cos − b·sin, b·cos + a·sin)} in f32, rounded once to q's/k's dtype.
 * Channels past rotaryDim are not written at all. q and k (F32/F16/BF16, each its own dtype) may be
 * strided views, typically {@code narrowLast} views of one fused qkv projection; positions may
 * repeat and come in any order; a position outside cosSin's rows is an error naming it.
 *
 * <p>Scalar form: each pair in f64 with the f32 cos/sin, rounded to f32 and to the dtype. SIMD
 * form: tokens spread over the pool; each head's rotary channels widened into scratch and rotated in
 * f32 Vector API lanes with one fma per output ({@code a·cos + (−b·sin)}); GPT-J's interleaved pairs
 * are swapped with a lane shuffle against per-token interleaved {@code cos} and {@code ∓sin} rows.
 * The forms agree to about an f32 ulp of |a|+|b|.
 */
public final class RotaryKernel {
    private RotaryKernel() {
    }

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Swaps lanes 2i and 2i+1: the GPT-J partner of every channel. */
    private static final VectorShuffle<Float> SWAP_PAIRS = VectorShuffle.fromOp(VectorMath.F, i -> i ^ 1);

    public static boolean supports(Rotary a) {
        return VectorMath.isActivationType(a.q().dtype()) && (a.k() == null || VectorMath.isActivationType(a.k().dtype()));
    }

    public static void run(Rotary a, CpuContext ctx) {
        int[] pos = positions(a);
        if (ctx.scalar()) {
            scalar(a, pos);
        } else {
            simd(a, pos, ctx);
        }
    }

    /** The positions, each checked against cosSin's rows. */
    private static int[] positions(Rotary a) {
        int[] pos = Rows.ints(a.positions());
        int max = a.cosSin().dim(0);
        for (int t = 0; t < pos.length; t++) {
            if (pos[t] < 0 || pos[t] >= max) {
                throw new IllegalArgumentException("rotary: positions[" + t + "] = " + pos[t] + " is outside cosSin "
                        + a.cosSin().describe() + "; build cosSin with at least " + (pos[t] + 1)
                        + " positions (max_position_embeddings)");
            }
        }
        return pos;
    }

    private static void scalar(Rotary a, int[] pos) {
        int half = a.rotaryDim() / 2;
        float[] cs = new float[a.rotaryDim()];
        for (int t = 0; t < pos.length; t++) {
            Rows.load(a.cosSin(), pos[t], cs, 0);
            for (Tensor x : a.k() == null ? new Tensor[] {a.q()} : new Tensor[] {a.q(), a.k()}) {
                float[] row = new float[x.cols()];
                Rows.load(x, t, row, 0);
                for (int h0 = 0; h0 < x.cols(); h0 += a.headSize()) {
                    for (int i = 0; i < half; i++) {
                        int ia = a.neox() ? h0 + i : h0 + 2 * i;
                        int ib = a.neox() ? h0 + i + half : h0 + 2 * i + 1;
                        double c = cs[i], s = cs[half + i];
                        double va = row[ia], vb = row[ib];
                        setScalar(x, t, ia, (float) (va * c - vb * s));
                        setScalar(x, t, ib, (float) (vb * c + va * s));
                    }
                }
            }
        }
    }

    /** x[row, col] = v rounded to x's dtype (one element: channels past rotaryDim are never rewritten). */
    private static void setScalar(Tensor x, long row, int col, float v) {
        CpuTensor c = CpuTensor.of(x);
        long off = x.layout().rowByteOffset(row) + (long) col * x.dtype().byteSize();
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        switch (x.dtype()) {
            case F32 -> c.storage().set(F32_LE, off, v);
            case BF16 -> c.storage().set(i16, off, Numerics.f32ToBf16(v));
            case F16 -> c.storage().set(i16, off, Numerics.f32ToF16(v));
            default -> throw new IllegalArgumentException("rotary: " + x.describe() + " is not F32/F16/BF16");
        }
    }

    private static void simd(Rotary a, int[] pos, CpuContext ctx) {
        int tokens = pos.length;
        if (tokens == 0) {
            return;
        }
        int rd = a.rotaryDim();
        int half = rd / 2;
        int headSize = a.headSize();
        boolean neox = a.neox();
        Tensor q = a.q(), k = a.k();
        MemorySegment css = CpuTensor.of(a.cosSin()).storage();
        long rowWork = q.cols() + (k == null ? 0 : k.cols());
        int len = VectorMath.padded(rd);
        ctx.pool().forRange(tokens, Tiles.rowGrain(rowWork), (t0, t1) -> {
            float[] cs = new float[len];  // neox: cos | sin; gpt-j: interleaved cos (c0 c0 c1 c1 ...)
            float[] sn = new float[len];  // gpt-j: interleaved ∓sin (−s0 +s0 −s1 +s1 ...)
            float[] buf = new float[len];
            for (int t = t0; t < t1; t++) {
                long csOff = a.cosSin().layout().rowByteOffset(pos[t]);
                if (neox) {
                    MemorySegment.copy(css, F32_LE, csOff, cs, 0, rd);
                } else {
                    MemorySegment.copy(css, F32_LE, csOff, buf, 0, rd); // buf is free until the first head
                    for (int i = 0; i < half; i++) {
                        float c = buf[i], s = buf[half + i];
                        cs[2 * i] = c;
                        cs[2 * i + 1] = c;
                        sn[2 * i] = -s;
                        sn[2 * i + 1] = s;
                    }
                }
                rotateRow(q, t, headSize, rd, neox, cs, sn, buf);
                if (k != null) {
                    rotateRow(k, t, headSize, rd, neox, cs, sn, buf);
                }
            }
        });
    }

    private static void rotateRow(Tensor x, int t, int headSize, int rd, boolean neox, float[] cs, float[] sn,
            float[] buf) {
        MemorySegment seg = CpuTensor.of(x).storage();
        DType dt = x.dtype();
        long es = dt.byteSize();
        long rowOff = x.layout().rowByteOffset(t);
        var sp = VectorMath.F;
        int vl = VectorMath.VL;
        int half = rd / 2;
        for (int h0 = 0; h0 < x.cols(); h0 += headSize) {
            long off = rowOff + h0 * es;
            VectorMath.load(seg, off, dt, buf, 0, rd);
            if (neox) {
                int i = 0;
                for (int bound = half - vl; i <= bound; i += vl) {
                    FloatVector va = FloatVector.fromArray(sp, buf, i);
                    FloatVector vb = FloatVector.fromArray(sp, buf, half + i);
                    FloatVector c = FloatVector.fromArray(sp, cs, i);
                    FloatVector s = FloatVector.fromArray(sp, cs, half + i);
                    va.fma(c, vb.mul(s).neg()).intoArray(buf, i);
                    vb.fma(c, va.mul(s)).intoArray(buf, half + i);
                }
                for (; i < half; i++) {
                    float va = buf[i], vb = buf[half + i], c = cs[i], s = cs[half + i];
                    buf[i] = Math.fma(va, c, -(vb * s));
                    buf[half + i] = Math.fma(vb, c, va * s);
                }
            } else {
                int j = 0;
                for (int bound = rd - vl; j <= bound; j += vl) {
                    FloatVector v = FloatVector.fromArray(sp, buf, j);
                    v.fma(FloatVector.fromArray(sp, cs, j), v.rearrange(SWAP_PAIRS).mul(FloatVector.fromArray(sp, sn, j)))
                            .intoArray(buf, j);
                }
                for (; j < rd; j += 2) {
                    float va = buf[j], vb = buf[j + 1];
                    buf[j] = Math.fma(va, cs[j], vb * sn[j]);
                    buf[j + 1] = Math.fma(vb, cs[j + 1], va * sn[j + 1]);
                }
            }
            VectorMath.store(buf, 0, rd, dt, seg, off);
        }
    }
}
