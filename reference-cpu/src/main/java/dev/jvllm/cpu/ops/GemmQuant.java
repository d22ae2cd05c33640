package dev.jvllm.cpu.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The decode (T = 1) dot kernel for int8 weights read in place: each chunk of L weights is
 * loaded packed (L bytes), converted to f32 and scaled in registers and multiplied into the
 * accumulators at once. A weight byte is read from memory once and never written back as f32,
 * which is what the 4-row f32 panel costs ({@link LinearDequant#row}).
 *
 * <p>Bits: a chunk is converted with exactly the vector operations of
 * {@link LinearDequant#int8Range} ({@code f32(q) · s}), so every weight has the bits of
 * {@link LinearDequant#at}, and the accumulation is {@link GemmF32}'s: lane j of an accumulator
 * sums {@code x[k]·w[k]} for k ≡ j (mod L) with fused multiply-adds in increasing k, then
 * {@link GemmF32#reduce16}. A row's result is therefore the same bits as through the panel and
 * GemmF32's kernels (prefill), for any T and thread count.
 *
 * <p>Only int8 at T = 1: fp8 (the e4m3 bit trick) and int4 (nibbles unpacked with a broadcast,
 * lane shifts and a mask) in the same scheme, and 4 x rows per kernel, measured no faster than
 * the panel or slower on this JDK: C2 stops inlining the conversions past its node budget
 * (docs/perf/quant-cpu.md has the numbers).
 */
final class GemmQuant {
    static final int L = LinearSimd.L;
    private static final VectorSpecies<Float> F = LinearSimd.F;
    private static final VectorSpecies<Byte> B = LinearDequant.B;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private GemmQuant() {
    }

    /**
     * Four W rows of an int8 weight, read in place, with their scales: the state of one task (not
     * shared between threads). {@link #select} picks the rows, {@link #dot} runs them against one
     * row of x.
     */
    static final class Rows4 {
        private final LinearDequant.Int8 w;
        private final MemorySegment s;
        private long w0;
        private long w1;
        private long w2;
        private long w3;
        private float s0;
        private float s1;
        private float s2;
        private float s3;

        private Rows4(LinearDequant.Int8 w) {
            this.w = w;
            this.s = w.storage();
        }

        /** A task's state for w, or null where w keeps the panel (not int8, or vectors of fewer than 8 floats). */
        static Rows4 of(LinearDequant w) {
            return w instanceof LinearDequant.Int8 q && B != null ? new Rows4(q) : null;
        }

        /** W rows r0..r3 (repeats allowed: a partial group repeats its last row). */
        void select(int r0, int r1, int r2, int r3) {
            w0 = w.rowOffset(r0);
            w1 = w.rowOffset(r1);
            w2 = w.rowOffset(r2);
            w3 = w.rowOffset(r3);
            s0 = w.rowScale(r0);
            s1 = w.rowScale(r1);
            s2 = w.rowScale(r2);
            s3 = w.rowScale(r3);
        }

        /** res[r] = lane-split dot(x row x0, W row r) over k &lt; kv, r &lt; 4 (GemmF32#dot1x4's order). */
        void dot(float[] x, int x0, int kv, float[] buf, float[] res) {
            dot1x2(x, x0, s, w0, w1, s0, s1, kv, buf, 0);
            dot1x2(x, x0, s, w2, w3, s2, s3, kv, buf, 2);
            GemmF32.reduce(buf, res, 4);
        }
    }

    /** L weights {@code f32(q) · scale} from the L int8 bytes at byte offset {@code off}. */
    private static FloatVector int8(MemorySegment w, long off, float scale) {
        return ((FloatVector) ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2F, F, 0))
                .mul(scale);
    }

    /**
     * The accumulators of x row x0 against the W rows at byte offsets wa and wb (scales sa, sb)
     * into buf[r·L ..] and buf[(r+1)·L ..]. Two rows per call, not four: C2 then inlines every
     * conversion of the loop (past its node budget it calls them with boxed vectors); x is read
     * twice per four rows, from L1.
     */
    private static void dot1x2(float[] x, int x0, MemorySegment w, long wa, long wb, float sa, float sb, int kv,
            float[] buf, int r) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int k = 0; k < kv; k += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            a0 = v.fma(int8(w, wa + k, sa), a0);
            a1 = v.fma(int8(w, wb + k, sb), a1);
        }
        a0.intoArray(buf, r * L);
        a1.intoArray(buf, (r + 1) * L);
    }
}
