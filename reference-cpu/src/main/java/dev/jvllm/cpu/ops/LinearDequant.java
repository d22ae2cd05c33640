package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reconstructs the f32 weight W[n, k] of every {@link LinearWeight} format, exactly as the
 * format's Javadoc defines it.
 *
 * <p>{@link #at} is the scalar specification (one element, plain Java). {@link #row} writes a whole
 * row of W in f32 and uses the Vector API where it can; it must return the same bits as
 * {@link #at} for every element (LinearKernelTest checks it), so the SIMD matmul sees exactly the
 * weights the scalar form sees and differs from it only in summation order. No full dequantized
 * copy of W is ever made: the SIMD matmul dequantizes four rows at a time into a small panel, or,
 * for int8 at T = 1, {@link GemmQuant} converts them in registers with the same vector operations.
 *
 * <p>Instances are immutable and shared by all tasks of one call.
 */
abstract sealed class LinearDequant {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** The f32 vector shape of the SIMD form; every narrow species below has the same lane count. */
    static final VectorSpecies<Float> F = LinearSimd.F;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(L * 32));
    static final VectorSpecies<Short> S = L * 16 >= 64 ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    static final VectorSpecies<Byte> B = L * 8 >= 64 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;

    /** K: the length of a row of W. */
    final int k;

    LinearDequant(LinearWeight w) {
        this.k = w.inFeatures();
    }

    /** W[row, col] in f32, computed one element at a time: the specification. */
    abstract float at(int row, int col);

    /** dst[off + j] = W[row, j] for j &lt; K, bit-identical to {@link #at}; SIMD where possible. */
    void row(int row, float[] dst, int off) {
        for (int j = 0; j < k; j++) {
            dst[off + j] = at(row, j);
        }
    }

    /** The dequantizer of one weight. Reads g_idx once to check it (a bad index fails here, naming it). */
    static LinearDequant of(LinearWeight w) {
        return switch (w) {
            case LinearWeight.Dense d -> new Dense(d);
            case LinearWeight.Fp8 f -> new Fp8(f);
            case LinearWeight.Int4 q -> new Int4(q);
            case LinearWeight.Int8 q -> new Int8(q);
        };
    }

    static MemorySegment seg(Tensor t) {
        return CpuTensor.of(t).storage();
    }

    /** f32 value of element i (row-major) of a float tensor of any float dtype. */
    static float floatAt(Tensor t, long i) {
        CpuTensor c = CpuTensor.of(t);
        long cols = t.cols();
        long off = c.layout().rowByteOffset(i / cols) + (i % cols) * t.dtype().byteSize();
        return switch (t.dtype()) {
            case F32 -> c.storage().get(F32, off);
            case BF16 -> Numerics.bf16ToF32(c.storage().get(I16, off));
            case F16 -> Numerics.f16ToF32(c.storage().get(I16, off));
            default -> throw new IllegalArgumentException("linear: " + t.describe() + " is not a float tensor");
        };
    }

    // ---- vector conversions over a range of one row, each bit-identical to the Numerics
    // conversion it replaces. Small static methods with one simple loop each: C2 inlines the
    // Vector API calls fully only when the compiled method stays small.

    /** dst[off + i] = f32(bf16 at s[base + 2i]) for i &lt; len: the bits shifted into the high half. */
    static void bf16Range(MemorySegment s, long base, float[] dst, int off, int len) {
        int i = 0;
        if (S != null) {
            for (; i <= len - L; i += L) {
                IntVector v = (IntVector) ShortVector.fromMemorySegment(S, s, base + 2L * i, LE)
                        .convertShape(VectorOperators.S2I, I, 0);
                v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            dst[off + i] = Numerics.bf16ToF32(s.get(I16, base + 2L * i));
        }
    }

    /**
     * dst[off + i] = f32(f16 at s[base + 2i]) for i &lt; len. Exponent and mantissa shifted into f32
     * position and scaled by 2^112 (exact: it only rebiases the exponent, and turns f16 subnormals,
     * which land on f32 subnormals, into normals); Inf/NaN (exponent 31) get the f32 all-ones
     * exponent and keep their payload; the sign is put back last.
     */
    static void f16Range(MemorySegment s, long base, float[] dst, int off, int len) {
        int i = 0;
        if (S != null) {
            for (; i <= len - L; i += L) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(S, s, base + 2L * i, LE)
                        .convertShape(VectorOperators.S2I, I, 0);
                IntVector em = h.and(0x7FFF);
                IntVector bits = em.lanewise(VectorOperators.LSHL, 13);
                IntVector finite = bits.reinterpretAsFloats().mul(0x1.0p112f).reinterpretAsInts();
                IntVector r = finite.blend(bits.or(0x70000000), em.compare(VectorOperators.GE, 0x7C00));
                r.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            dst[off + i] = Numerics.f16ToF32(s.get(I16, base + 2L * i));
        }
    }

    /**
     * dst[off + i] = f32(e4m3 at s[base + i]) · scale for i &lt; len. Sign to bit 31, exponent and
     * mantissa to bits 20..26: as an f32 that is the e4m3 value · 2^-120 exactly (e4m3 subnormals
     * land on f32 subnormals, as for f16), so one multiply by scale · 2^120 gives f32(e4m3) · scale
     * rounded once, the same bits as the scalar form's two multiplies (the first is exact), as long
     * as scale · 2^120 is finite; S.1111.111 is NaN.
     */
    static void e4m3Range(MemorySegment s, long base, float scale, float[] dst, int off, int len) {
        int i = 0;
        float scaled = scale * 0x1.0p120f;
        if (B != null && (Float.isFinite(scaled) || !Float.isFinite(scale))) {
            for (; i <= len - L; i += L) {
                IntVector b = (IntVector) ByteVector.fromMemorySegment(B, s, base + i, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector bits = b.lanewise(VectorOperators.LSHL, 20).and(0x87F00000);
                IntVector v = bits.reinterpretAsFloats().mul(scaled).reinterpretAsInts();
                v.blend(0x7FC00000, b.and(0x7F).compare(VectorOperators.EQ, 0x7F)).reinterpretAsFloats()
                        .intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            dst[off + i] = Numerics.e4m3ToF32(s.get(ValueLayout.JAVA_BYTE, base + i)) * scale;
        }
    }

    /**
     * {@link #e4m3Range} over a whole row with one scale per block of {@code blockK} columns
     * (blockK a multiple of L, so no vector chunk straddles two blocks): one loop instead of one
     * call per block. scales: per block; scaled: the same · 2^120, all finite.
     */
    static void e4m3Blocks(MemorySegment s, long base, float[] scales, float[] scaled, int blockK, float[] dst, int off,
            int len) {
        int i = 0;
        for (int blk = 0; i <= len - L; blk++) {
            float sc = scaled[blk];
            int end = Math.min(len - L, (blk + 1) * blockK - L);
            for (; i <= end; i += L) {
                IntVector b = (IntVector) ByteVector.fromMemorySegment(B, s, base + i, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector bits = b.lanewise(VectorOperators.LSHL, 20).and(0x87F00000);
                IntVector v = bits.reinterpretAsFloats().mul(sc).reinterpretAsInts();
                v.blend(0x7FC00000, b.and(0x7F).compare(VectorOperators.EQ, 0x7F)).reinterpretAsFloats()
                        .intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            dst[off + i] = Numerics.e4m3ToF32(s.get(ValueLayout.JAVA_BYTE, base + i)) * scales[i / blockK];
        }
    }

    /** dst[off + i] = (int8 at s[base + i]) · scale for i &lt; len. */
    static void int8Range(MemorySegment s, long base, float scale, float[] dst, int off, int len) {
        int i = 0;
        if (B != null) {
            for (; i <= len - L; i += L) {
                FloatVector v = (FloatVector) ByteVector.fromMemorySegment(B, s, base + i, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                v.mul(scale).intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            dst[off + i] = s.get(ValueLayout.JAVA_BYTE, base + i) * scale;
        }
    }

    /** Lane j of an int4 chunk reads nibble j % 8 of its word: right shift 4·(j % 8). */
    private static final IntVector NIBBLE_SHIFTS = L % 8 == 0 && L <= 16
            ? IntVector.fromArray(I, java.util.stream.IntStream.range(0, L).map(j -> 4 * (j % 8)).toArray(), 0)
            : null;
    /** Longs of the same vector size, to broadcast the 8 bytes of a 16-lane chunk in one step. */
    private static final VectorSpecies<Long> LONGS = VectorSpecies.of(long.class, VectorShape.forBitSize(L * 32));
    /** Lane j ← word j / 8 of the L/8 words at the start of the vector. */
    private static final VectorShuffle<Integer> WORD_OF_LANE = VectorShuffle.fromOp(I, j -> j / 8);

    /**
     * dst[off + i] = (q_i − zero) · scale for i &lt; len, where q_i is nibble i % 8 of the int32
     * word at s[base + 4·(i / 8)] (so the range starts at a column that is a multiple of 8). The
     * L/8 words of a chunk (8 bytes for L = 16, 4 for L = 8) are read as one scalar, broadcast, and
     * spread one word per 8 lanes.
     */
    static void int4Range(MemorySegment s, long base, float zero, float scale, float[] dst, int off, int len) {
        int i = 0;
        if (NIBBLE_SHIFTS != null) {
            for (; i <= len - L; i += L) {
                IntVector words;
                if (L == 16) {
                    long w = s.get(ValueLayout.JAVA_LONG_UNALIGNED, base + i / 2);
                    words = LongVector.broadcast(LONGS, w).reinterpretAsInts().rearrange(WORD_OF_LANE);
                } else {
                    words = IntVector.broadcast(I, s.get(I32, base + i / 2));
                }
                FloatVector q = (FloatVector) words.lanewise(VectorOperators.LSHR, NIBBLE_SHIFTS).and(0xF)
                        .convert(VectorOperators.I2F, 0);
                q.sub(zero).mul(scale).intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            int q = (s.get(I32, base + 4L * (i / 8)) >>> (4 * (i % 8))) & 0xF;
            dst[off + i] = (float) (q - (int) zero) * scale;
        }
    }

    /**
     * {@link #int4Range} over a whole row with one zero point and scale per group of
     * {@code groupSize} columns (a multiple of L, so no chunk straddles two groups).
     */
    static void int4Groups(MemorySegment s, long base, float[] zp, float[] sc, int groupSize, float[] dst, int off,
            int len) {
        int i = 0;
        for (int g = 0; i <= len - L; g++) {
            float z = zp[g];
            float m = sc[g];
            int end = Math.min(len - L, (g + 1) * groupSize - L);
            for (; i <= end; i += L) {
                IntVector words;
                if (L == 16) {
                    long w = s.get(ValueLayout.JAVA_LONG_UNALIGNED, base + i / 2);
                    words = LongVector.broadcast(LONGS, w).reinterpretAsInts().rearrange(WORD_OF_LANE);
                } else {
                    words = IntVector.broadcast(I, s.get(I32, base + i / 2));
                }
                FloatVector q = (FloatVector) words.lanewise(VectorOperators.LSHR, NIBBLE_SHIFTS).and(0xF)
                        .convert(VectorOperators.I2F, 0);
                q.sub(z).mul(m).intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            int q = (s.get(I32, base + 4L * (i / 8)) >>> (4 * (i % 8))) & 0xF;
            int g = i / groupSize;
            dst[off + i] = (float) (q - (int) zp[g]) * sc[g];
        }
    }

    /**
     * int4 with act-order: dst[off + i] = (q_i − zp[g_i]) · sc[g_i], g_i = gIdx[col0 + i], the
     * row's zero points and scales gathered per lane. Same chunking as {@link #int4Range}.
     */
    static void int4GatherRange(MemorySegment s, long base, int[] gIdx, int col0, float[] zp, float[] sc,
            float[] dst, int off, int len) {
        int i = 0;
        if (NIBBLE_SHIFTS != null) {
            for (; i <= len - L; i += L) {
                IntVector words;
                if (L == 16) {
                    long w = s.get(ValueLayout.JAVA_LONG_UNALIGNED, base + i / 2);
                    words = LongVector.broadcast(LONGS, w).reinterpretAsInts().rearrange(WORD_OF_LANE);
                } else {
                    words = IntVector.broadcast(I, s.get(I32, base + i / 2));
                }
                FloatVector q = (FloatVector) words.lanewise(VectorOperators.LSHR, NIBBLE_SHIFTS).and(0xF)
                        .convert(VectorOperators.I2F, 0);
                FloatVector z = FloatVector.fromArray(F, zp, 0, gIdx, col0 + i);
                FloatVector m = FloatVector.fromArray(F, sc, 0, gIdx, col0 + i);
                q.sub(z).mul(m).intoArray(dst, off + i);
            }
        }
        for (; i < len; i++) {
            int q = (s.get(I32, base + 4L * (i / 8)) >>> (4 * (i % 8))) & 0xF;
            int g = gIdx[col0 + i];
            dst[off + i] = (float) (q - (int) zp[g]) * sc[g];
        }
    }

    // ---- formats ----

    /** Plain f32/bf16/f16 weights. */
    static final class Dense extends LinearDequant {
        private final Tensor w;
        private final MemorySegment s;
        private final DType dt;

        Dense(LinearWeight.Dense d) {
            super(d);
            this.w = d.w();
            this.s = seg(w);
            this.dt = w.dtype();
        }

        @Override
        float at(int row, int col) {
            long off = w.layout().rowByteOffset(row) + (long) col * dt.byteSize();
            return switch (dt) {
                case F32 -> s.get(F32, off);
                case BF16 -> Numerics.bf16ToF32(s.get(I16, off));
                case F16 -> Numerics.f16ToF32(s.get(I16, off));
                default -> throw new AssertionError(dt);
            };
        }

        /**
         * dst[off .. off+K) = W's bf16 row in GemmF32's paired order: position p of each block of 2L
         * below kv holds column 2p (p &lt; L) or 2(p - L) + 1, the tail k &ge; kv in order. One
         * L-lane int vector holds 2L weights: the even ones are {@code bits << 16}, the odd ones
         * {@code bits & 0xFFFF0000}, exactly their f32 values.
         */
        void pairedRow(int row, float[] dst, int off, int kv) {
            long base = w.layout().rowByteOffset(row);
            for (int i = 0; i < kv; i += 2 * L) {
                IntVector p = IntVector.fromMemorySegment(I, s, base + 2L * i, LE);
                p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
                p.and(0xFFFF0000).reinterpretAsFloats().intoArray(dst, off + i + L);
            }
            bf16Range(s, base + 2L * kv, dst, off + kv, k - kv);
        }

        @Override
        void row(int row, float[] dst, int off) {
            long base = w.layout().rowByteOffset(row);
            switch (dt) {
                case F32 -> MemorySegment.copy(s, F32, base, dst, off, k);
                case BF16 -> bf16Range(s, base, dst, off, k);
                case F16 -> f16Range(s, base, dst, off, k);
                default -> throw new AssertionError(dt);
            }
        }
    }

    /** fp8 e4m3 weights with per-tensor, per-channel or block scales. */
    static final class Fp8 extends LinearDequant {
        private final Tensor w;
        private final MemorySegment s;
        private final Tensor scale;
        private final int blockN;
        private final int blockK;
        private final boolean perTensor;
        private final float tensorScale;

        Fp8(LinearWeight.Fp8 f) {
            super(f);
            this.w = f.w();
            this.s = seg(w);
            this.scale = f.scale();
            this.blockN = f.blockN();
            this.blockK = f.blockK();
            this.perTensor = blockN <= 0 && scale.numel() == 1;
            this.tensorScale = perTensor ? floatAt(scale, 0) : 0f;
        }

        /** The scale of element (row, col). */
        private float scaleOf(int row, int col) {
            if (perTensor) {
                return tensorScale;
            }
            if (blockN > 0) {
                return floatAt(scale, (long) (row / blockN) * scale.cols() + col / blockK);
            }
            return floatAt(scale, row);
        }

        @Override
        float at(int row, int col) {
            byte b = s.get(ValueLayout.JAVA_BYTE, w.layout().rowByteOffset(row) + col);
            return Numerics.e4m3ToF32(b) * scaleOf(row, col);
        }

        @Override
        void row(int row, float[] dst, int off) {
            long base = w.layout().rowByteOffset(row);
            if (blockN <= 0) {
                e4m3Range(s, base, scaleOf(row, 0), dst, off, k);
                return;
            }
            float[] rowScales = new float[scale.cols()]; // scale[row / blockN, :]
            Rows.load(scale, row / blockN, rowScales, 0);
            float[] scaled = new float[rowScales.length];
            boolean finite = B != null && blockK % L == 0;
            for (int b = 0; b < scaled.length; b++) {
                scaled[b] = rowScales[b] * 0x1.0p120f;
                finite &= Float.isFinite(scaled[b]);
            }
            if (finite) {
                e4m3Blocks(s, base, rowScales, scaled, blockK, dst, off, k);
                return;
            }
            for (int c0 = 0, b = 0; c0 < k; c0 += blockK, b++) { // one scale per block of columns
                e4m3Range(s, base + c0, rowScales[b], dst, off + c0, Math.min(blockK, k - c0));
            }
        }
    }

    /** int8 weights with per-channel f32 scales. */
    static final class Int8 extends LinearDequant {
        private final Tensor w;
        private final MemorySegment s;
        private final Tensor scales;

        Int8(LinearWeight.Int8 q) {
            super(q);
            this.w = q.w();
            this.s = seg(w);
            this.scales = q.scales();
        }

        @Override
        float at(int row, int col) {
            byte b = s.get(ValueLayout.JAVA_BYTE, w.layout().rowByteOffset(row) + col);
            return b * floatAt(scales, row);
        }

        /** The int8 storage, [N, K] bytes. */
        MemorySegment storage() {
            return s;
        }

        /** Byte offset of W row {@code row} in {@link #storage}. */
        long rowOffset(int row) {
            return w.layout().rowByteOffset(row);
        }

        /** The scale of W row {@code row}. */
        float rowScale(int row) {
            return floatAt(scales, row);
        }

        @Override
        void row(int row, float[] dst, int off) {
            int8Range(s, w.layout().rowByteOffset(row), floatAt(scales, row), dst, off, k);
        }
    }

    /**
     * int4 group-quantized weights in the internal layout: q(n, k) is nibble k % 8 of word
     * qweight[n, k / 8]; W = (q − zero) · scale of the column's group.
     */
    static final class Int4 extends LinearDequant {
        private final Tensor qweight;
        private final MemorySegment s;
        private final Tensor scales;
        private final Tensor zeros;
        private final int groupSize;
        private final int groups;
        private final int[] gIdx; // null: g = k / groupSize

        Int4(LinearWeight.Int4 q) {
            super(q);
            this.qweight = q.qweight();
            this.s = seg(qweight);
            this.scales = q.scales();
            this.zeros = q.zeros();
            this.groupSize = q.groupSize();
            this.groups = scales.cols();
            if (q.gIdx() == null) {
                this.gIdx = null;
            } else {
                this.gIdx = Rows.ints(q.gIdx());
                for (int j = 0; j < gIdx.length; j++) {
                    if (gIdx[j] < 0 || gIdx[j] >= groups) {
                        throw new IllegalArgumentException("linear: int4 g_idx[" + j + "] = " + gIdx[j]
                                + " is outside [0, " + groups + "): scales " + scales.describe()
                                + " has one column per group; fix the checkpoint's g_idx or its repacking");
                    }
                }
            }
        }

        private int group(int col) {
            return gIdx == null ? col / groupSize : gIdx[col];
        }

        private int nibble(int row, int col) {
            int word = s.get(I32, qweight.layout().rowByteOffset(row) + 4L * (col / 8));
            return (word >>> (4 * (col % 8))) & 0xF;
        }

        private int zero(int row, int g) {
            if (zeros == null) {
                return 8;
            }
            return seg(zeros).get(ValueLayout.JAVA_BYTE, zeros.layout().rowByteOffset(row) + g) & 0xFF;
        }

        private float scale(int row, int g) {
            return floatAt(scales, (long) row * groups + g);
        }

        @Override
        float at(int row, int col) {
            int g = group(col);
            return (float) (nibble(row, col) - zero(row, g)) * scale(row, g);
        }

        @Override
        void row(int row, float[] dst, int off) {
            long base = qweight.layout().rowByteOffset(row);
            float[] sc = new float[groups]; // this row's scales and zero points, by group
            float[] zp = new float[groups];
            Rows.load(scales, row, sc, 0);
            if (zeros == null) {
                java.util.Arrays.fill(zp, 8f);
            } else {
                long zBase = zeros.layout().rowByteOffset(row);
                MemorySegment zs = seg(zeros);
                for (int g = 0; g < groups; g++) {
                    zp[g] = zs.get(ValueLayout.JAVA_BYTE, zBase + g) & 0xFF;
                }
            }
            if (gIdx != null) {
                int4GatherRange(s, base, gIdx, 0, zp, sc, dst, off, k);
                return;
            }
            if (NIBBLE_SHIFTS != null && groupSize % L == 0) {
                int4Groups(s, base, zp, sc, groupSize, dst, off, k);
                return;
            }
            if (groupSize % 8 != 0) { // groups that split a word: element by element
                super.row(row, dst, off);
                return;
            }
            for (int c0 = 0, g = 0; c0 < k; c0 += groupSize, g++) { // one scale and zero point per group
                int4Range(s, base + 4L * (c0 / 8), zp[g], sc[g], dst, off + c0, Math.min(groupSize, k - c0));
            }
        }
    }
}
