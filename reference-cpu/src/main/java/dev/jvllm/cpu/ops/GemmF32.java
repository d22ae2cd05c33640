package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.LinearWeight;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-blocked f32 dot-product micro-kernels: up to 4 rows of x (K-contiguous f32) against 4
 * rows of W read from a {@link MemorySegment}: bf16 or f32 weights in place (decode, where the
 * matmul must run at the speed W streams from memory), or a small f32 panel on the heap that
 * other formats are dequantized into.
 *
 * <p>The reduction order is the contract of the SIMD linear and is the same in every kernel:
 * for an (x row, W row) pair, lane j of one accumulator sums {@code x[k]·w[k]} for
 * k = j, j+L, j+2L, ... &lt; kv with fused multiply-adds in increasing k, then {@link #fold(float[])}
 * adds the L lanes in a fixed halving tree ({@link #reduce16} computes the same tree with vectors). No kernel shares anything between accumulators, so a result
 * depends only on its two rows, never on which kernel, tile or thread computed it. (Float
 * {@code reduceLanes} is avoided on purpose: its order is unspecified and may differ between the
 * interpreter and compiled code.)
 *
 * <p><b>Paired order (dense bf16 weights).</b> For a dense bf16 W ({@link #paired}) the same
 * contract runs over k <em>permuted within blocks of 2L</em>: position k0 + i of a block holds
 * k0 + 2i and position k0 + L + i holds k0 + 2i + 1 (i &lt; L), and kv is K rounded down to 2L
 * ({@link #vectorPart}). So lane j's chain is k = 2j, 2j+1, 2L+2j, 2L+2j+1, ... The reason is the
 * load: one L-lane int vector of W holds 2L bf16, and its even elements are {@code bits << 16}, its
 * odd ones {@code bits & 0xFFFF0000}, two cheap integer ops per 2L weights where widening L shorts
 * to L ints costs a cross-lane convert per L weights. Fewer micro-ops per weight byte keep more of
 * W's cache lines in flight: the batch-1 GEMV over a cold 2048 x 8192 bf16 W read 35-50% faster
 * (docs/perf/decode.md, "Eighth pass"). The kernels take x already permuted ({@link #pairUp}); the
 * prefill packs x and W in the same order, so it gives the decode's bits.
 */
final class GemmF32 {
    static final VectorSpecies<Float> F = LinearSimd.F;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = LinearDequant.I;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Whether bf16 weights can be read in place: the machine's vectors hold at least four shorts. */
    static boolean bf16Supported() {
        return LinearDequant.S != null;
    }

    private GemmF32() {
    }

    /** Whether the linear's chains run in paired order: dense bf16 W (see the class comment). */
    static boolean paired(LinearWeight w) {
        return bf16Supported() && w instanceof LinearWeight.Dense d && d.w().dtype() == DType.BF16;
    }

    /** kv: the columns k &lt; kv that the vector chains cover; k &ge; kv is the in-order tail. */
    static int vectorPart(int k, boolean paired) {
        return k - k % (paired ? 2 * L : L);
    }

    private static final FloatVector EVENS = every2(0), ODDS = every2(1);

    /** Lane indices into (a, b) concatenated: lane i picks element 2i + first. */
    private static FloatVector every2(int first) {
        float[] idx = new float[L];
        for (int i = 0; i < L; i++) {
            idx[i] = 2 * i + first;
        }
        return FloatVector.fromArray(F, idx, 0);
    }

    /** a[off .. off+kv) into paired order in place (kv a multiple of 2L): per block, evens then odds. */
    static void pairUp(float[] a, int off, int kv) {
        for (int b = off; b < off + kv; b += 2 * L) {
            FloatVector lo = FloatVector.fromArray(F, a, b);
            FloatVector hi = FloatVector.fromArray(F, a, b + L);
            EVENS.selectFrom(lo, hi).intoArray(a, b);
            ODDS.selectFrom(lo, hi).intoArray(a, b + L);
        }
    }

    /*
     * Horizontal sums without crossing a non-inlined call with vector values (C2 would box them):
     * kernels store their 16 accumulators into buf[16 * L] and reduce16 folds all of them at once
     * with a network of blends and lane swaps. Level w pairs vectors (a, b) into one whose lanes are
     * a_j + a_(j+w) in the first half of every 2w-lane block and b_(j-w) + b_j in the second half: for
     * each accumulator that is exactly a step of the halving tree (lane j += lane j+w), so the result
     * equals fold(float[]) bit for bit. Shuffles and masks are separate static finals so that C2 sees
     * constants.
     */
    private static final VectorShuffle<Float> SWAP_8 = swap(8);
    private static final VectorShuffle<Float> SWAP_4 = swap(4);
    private static final VectorShuffle<Float> SWAP_2 = swap(2);
    private static final VectorShuffle<Float> SWAP_1 = swap(1);
    private static final VectorMask<Float> HI_8 = high(8);
    private static final VectorMask<Float> HI_4 = high(4);
    private static final VectorMask<Float> HI_2 = high(2);
    private static final VectorMask<Float> HI_1 = high(1);
    /** After the network, lane j of result vector v holds the sum of accumulator OWNER[v * L + j]. */
    private static final int[] OWNER = owners();

    /** Lane j ← lane j ± w: swaps the halves of every 2w-lane block. */
    private static VectorShuffle<Float> swap(int w) {
        return w < L ? VectorShuffle.fromOp(F, j -> (j % (2 * w)) < w ? j + w : j - w) : null;
    }

    /** The second half of every 2w-lane block. */
    private static VectorMask<Float> high(int w) {
        if (w >= L) {
            return null;
        }
        boolean[] m = new boolean[L];
        for (int j = 0; j < L; j++) {
            m[j] = (j % (2 * w)) >= w;
        }
        return VectorMask.fromArray(F, m, 0);
    }

    private static int[] owners() {
        int[] own = new int[16 * L]; // own[v * L + j]: accumulator whose partial sum is in lane j of vector v
        for (int v = 0; v < 16; v++) {
            java.util.Arrays.fill(own, v * L, (v + 1) * L, v);
        }
        int vectors = 16;
        for (int w = L / 2; w >= 1 && vectors > 1; w /= 2) {
            for (int p = 0; p < vectors / 2; p++) {
                for (int j = 0; j < L; j++) {
                    own[p * L + j] = (j % (2 * w)) < w ? own[2 * p * L + j] : own[(2 * p + 1) * L + j];
                }
            }
            vectors /= 2;
        }
        return own;
    }

    /**
     * res[i] = fold(accumulator i) for the 16 accumulators stored in buf[i * L .. (i+1) * L);
     * destroys buf.
     */
    static void reduce16(float[] buf, float[] res) {
        reduce(buf, res, 16);
    }

    /**
     * res[i] = fold(accumulator i) for i &lt; count (4, 8 or 16) accumulators stored in
     * buf[i * L .. (i+1) * L); res[count ..] and buf get whatever is left. The network's first levels
     * pair only the vectors that hold the count accumulators, and a lane of an accumulator meets the
     * same lanes in the same order whatever the count, so the bits are reduce16's: a decode row's
     * four accumulators cost a third of the sixteen's pair steps.
     */
    static void reduce(float[] buf, float[] res, int count) {
        if (L == 16) {
            level8(buf, count / 2);
            level4(buf, Math.max(1, count / 4));
            level2(buf, Math.max(1, count / 8));
            level1(buf, 1);
        } else if (L == 8) {
            level4(buf, count / 2);
            level2(buf, Math.max(1, count / 4));
            level1(buf, Math.max(1, count / 8));
        } else {
            float[] a = new float[L];
            for (int i = 0; i < count; i++) {
                System.arraycopy(buf, i * L, a, 0, L);
                res[i] = fold(a);
            }
            return;
        }
        for (int j = 0; j < 16; j++) {
            res[OWNER[j]] = buf[j];
        }
    }

    /*
     * One level of the network each: `pairs` pairs of vectors in buf become `pairs` vectors. Four
     * copies rather than one method with parameters, so that each compiles with constant shuffles
     * and masks even when C2 does not inline it.
     */
    private static void level8(float[] buf, int pairs) {
        for (int p = 0; p < pairs; p++) {
            FloatVector a = FloatVector.fromArray(F, buf, 2 * p * L);
            FloatVector b = FloatVector.fromArray(F, buf, (2 * p + 1) * L);
            a.blend(b, HI_8).add(a.rearrange(SWAP_8).blend(b.rearrange(SWAP_8), HI_8)).intoArray(buf, p * L);
        }
    }

    private static void level4(float[] buf, int pairs) {
        for (int p = 0; p < pairs; p++) {
            FloatVector a = FloatVector.fromArray(F, buf, 2 * p * L);
            FloatVector b = FloatVector.fromArray(F, buf, (2 * p + 1) * L);
            a.blend(b, HI_4).add(a.rearrange(SWAP_4).blend(b.rearrange(SWAP_4), HI_4)).intoArray(buf, p * L);
        }
    }

    private static void level2(float[] buf, int pairs) {
        for (int p = 0; p < pairs; p++) {
            FloatVector a = FloatVector.fromArray(F, buf, 2 * p * L);
            FloatVector b = FloatVector.fromArray(F, buf, (2 * p + 1) * L);
            a.blend(b, HI_2).add(a.rearrange(SWAP_2).blend(b.rearrange(SWAP_2), HI_2)).intoArray(buf, p * L);
        }
    }

    private static void level1(float[] buf, int pairs) {
        for (int p = 0; p < pairs; p++) {
            FloatVector a = FloatVector.fromArray(F, buf, 2 * p * L);
            FloatVector b = FloatVector.fromArray(F, buf, (2 * p + 1) * L);
            a.blend(b, HI_1).add(a.rearrange(SWAP_1).blend(b.rearrange(SWAP_1), HI_1)).intoArray(buf, p * L);
        }
    }

    /**
     * The sum of L lanes in the fixed halving tree: for w = L/2, L/4, ..., 1: a[j] += a[j+w]
     * (j &lt; w); the result is a[0]. The specification of the kernels' horizontal sum (destroys a).
     */
    static float fold(float[] a) {
        for (int w = L / 2; w >= 1; w /= 2) {
            for (int j = 0; j < w; j++) {
                a[j] = a[j] + a[j + w];
            }
        }
        return a[0];
    }

    /**
     * res[4i + j] = lane-split dot(x row i, W row j) over k &lt; kv, for nx = 1, 2 or 4 x rows at
     * offsets x0.. of x and the W rows at byte offsets w0..w3 of {@code w}, little-endian: f32, or
     * bf16 in paired order (x rows permuted by {@link #pairUp}, kv a multiple of 2L), whose loop steps
     * 2L and is a method of its own.
     */
    static void dot1x4(float[] x, int x0, MemorySegment w, boolean bf16,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        if (kv > ROW_STREAM_MAX_K) {
            if (bf16) {
                dot1x4Bf16(x, x0, w, w0, w1, w2, w3, kv, buf, res);
            } else {
                dot1x4F32(x, x0, w, w0, w1, w2, w3, kv, buf, res);
            }
            return;
        }
        if (bf16) {
            rowBf16(x, x0, w, w0, kv, buf, 0);
            rowBf16(x, x0, w, w1, kv, buf, L);
            rowBf16(x, x0, w, w2, kv, buf, 2 * L);
            rowBf16(x, x0, w, w3, kv, buf, 3 * L);
        } else {
            rowF32(x, x0, w, w0, kv, buf, 0);
            rowF32(x, x0, w, w1, kv, buf, L);
            rowF32(x, x0, w, w2, kv, buf, 2 * L);
            rowF32(x, x0, w, w3, kv, buf, 3 * L);
        }
        reduce(buf, res, 4);
    }

    /**
     * Up to this K, {@link #dot1x4} reads its four W rows one after another (x row, 4·K bytes, stays
     * in L1 for all four); above it, side by side, so that x is read once per four rows, and a dense
     * bf16 W eight rows at a time ({@link #dot1x8Bf16}) where eight are left.
     */
    static final int ROW_STREAM_MAX_K = 4096;

    /*
     * One x row, K <= ROW_STREAM_MAX_K: the four W rows one after another, each a single accumulator.
     * A row's chain is serial (one or two dependent FMAs per vector of W), which costs nothing at the
     * speed W streams in, and consecutive rows make W one sequential stream. Side by side (below, and
     * the kernels for 2 and 4 x rows, which share each W vector between x rows) they are 4 streams K
     * apart, which one core read 25-40% slower (docs/perf/decode.md, "Eighth pass"). At K = 8192 the
     * side-by-side form is faster: x (32 KiB) no longer stays in L1 while a row streams past it, and
     * every x vector a row meets is an L1 miss that takes a fill buffer W's misses need. Eight rows
     * side by side halve x's reads per W byte again: the down projection (2048 x 8192) read 24-28
     * GB/s in a decode step against 12-18 with four (docs/perf/decode.md, "Ninth pass").
     */

    /**
     * res[0..8) = lane-split dot(x row x0, each of the 8 bf16 W rows at byte offsets rows[0..8)) over
     * k &lt; kv in paired order: {@link #dot1x4}'s bits for each row, eight rows side by side (8
     * accumulators, one x load per 16 weights of 8 rows). For K &gt; {@link #ROW_STREAM_MAX_K}.
     */
    static void dot1x8Bf16(float[] x, int x0, MemorySegment w, long[] rows, int kv, float[] buf, float[] res) {
        long w0 = rows[0], w1 = rows[1], w2 = rows[2], w3 = rows[3];
        long w4 = rows[4], w5 = rows[5], w6 = rows[6], w7 = rows[7];
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int k = 0; k < kv; k += 2 * L) {
            FloatVector e = FloatVector.fromArray(F, x, x0 + k), o = FloatVector.fromArray(F, x, x0 + k + L);
            long b = 2L * k;
            IntVector p = IntVector.fromMemorySegment(I, w, w0 + b, LE);
            a0 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0));
            p = IntVector.fromMemorySegment(I, w, w1 + b, LE);
            a1 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1));
            p = IntVector.fromMemorySegment(I, w, w2 + b, LE);
            a2 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a2));
            p = IntVector.fromMemorySegment(I, w, w3 + b, LE);
            a3 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a3));
            p = IntVector.fromMemorySegment(I, w, w4 + b, LE);
            a4 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a4));
            p = IntVector.fromMemorySegment(I, w, w5 + b, LE);
            a5 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a5));
            p = IntVector.fromMemorySegment(I, w, w6 + b, LE);
            a6 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a6));
            p = IntVector.fromMemorySegment(I, w, w7 + b, LE);
            a7 = o.fma(p.and(0xFFFF0000).reinterpretAsFloats(), e.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a7));
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, L);
        a2.intoArray(buf, 2 * L);
        a3.intoArray(buf, 3 * L);
        a4.intoArray(buf, 4 * L);
        a5.intoArray(buf, 5 * L);
        a6.intoArray(buf, 6 * L);
        a7.intoArray(buf, 7 * L);
        reduce(buf, res, 8);
    }

    /** buf[b0 .. b0+L) = lane chains of dot(x row x0, the f32 W row at byte offset w0) over k &lt; kv. */
    private static void rowF32(float[] x, int x0, MemorySegment w, long w0, int kv, float[] buf, int b0) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < kv; k += L) {
            a = FloatVector.fromArray(F, x, x0 + k).fma(FloatVector.fromMemorySegment(F, w, w0 + 4L * k, LE), a);
        }
        a.intoArray(buf, b0);
    }

    /** The same for a bf16 W row in paired order (x row permuted, kv a multiple of 2L). */
    private static void rowBf16(float[] x, int x0, MemorySegment w, long w0, int kv, float[] buf, int b0) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < kv; k += 2 * L) {
            IntVector p = IntVector.fromMemorySegment(I, w, w0 + 2L * k, LE);
            a = FloatVector.fromArray(F, x, x0 + k).fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a);
            a = FloatVector.fromArray(F, x, x0 + k + L).fma(p.and(0xFFFF0000).reinterpretAsFloats(), a);
        }
        a.intoArray(buf, b0);
    }

    static void dot2x4(float[] x, int x0, int x1, MemorySegment w, boolean bf16,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        if (bf16) {
            dot2x4Bf16(x, x0, x1, w, w0, w1, w2, w3, kv, buf, res);
            return;
        }
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        for (int k = 0; k < kv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            long b = 4L * k;
            FloatVector u = FloatVector.fromMemorySegment(F, w, w0 + b, LE);
            a00 = v0.fma(u, a00);
            a10 = v1.fma(u, a10);
            u = FloatVector.fromMemorySegment(F, w, w1 + b, LE);
            a01 = v0.fma(u, a01);
            a11 = v1.fma(u, a11);
            u = FloatVector.fromMemorySegment(F, w, w2 + b, LE);
            a02 = v0.fma(u, a02);
            a12 = v1.fma(u, a12);
            u = FloatVector.fromMemorySegment(F, w, w3 + b, LE);
            a03 = v0.fma(u, a03);
            a13 = v1.fma(u, a13);
        }
        a00.intoArray(buf, 0);
        a01.intoArray(buf, L);
        a02.intoArray(buf, 2 * L);
        a03.intoArray(buf, 3 * L);
        a10.intoArray(buf, 4 * L);
        a11.intoArray(buf, 5 * L);
        a12.intoArray(buf, 6 * L);
        a13.intoArray(buf, 7 * L);
        reduce(buf, res, 8);
    }

    static void dot4x4(float[] x, int x0, int x1, int x2, int x3, MemorySegment w, boolean bf16,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        if (bf16) {
            dot4x4Bf16(x, x0, x1, x2, x3, w, w0, w1, w2, w3, kv, buf, res);
            return;
        }
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < kv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + k);
            long b = 4L * k;
            FloatVector u = FloatVector.fromMemorySegment(F, w, w0 + b, LE);
            a00 = v0.fma(u, a00);
            a10 = v1.fma(u, a10);
            a20 = v2.fma(u, a20);
            a30 = v3.fma(u, a30);
            u = FloatVector.fromMemorySegment(F, w, w1 + b, LE);
            a01 = v0.fma(u, a01);
            a11 = v1.fma(u, a11);
            a21 = v2.fma(u, a21);
            a31 = v3.fma(u, a31);
            u = FloatVector.fromMemorySegment(F, w, w2 + b, LE);
            a02 = v0.fma(u, a02);
            a12 = v1.fma(u, a12);
            a22 = v2.fma(u, a22);
            a32 = v3.fma(u, a32);
            u = FloatVector.fromMemorySegment(F, w, w3 + b, LE);
            a03 = v0.fma(u, a03);
            a13 = v1.fma(u, a13);
            a23 = v2.fma(u, a23);
            a33 = v3.fma(u, a33);
        }
        a00.intoArray(buf, 0);
        a01.intoArray(buf, L);
        a02.intoArray(buf, 2 * L);
        a03.intoArray(buf, 3 * L);
        a10.intoArray(buf, 4 * L);
        a11.intoArray(buf, 5 * L);
        a12.intoArray(buf, 6 * L);
        a13.intoArray(buf, 7 * L);
        a20.intoArray(buf, 8 * L);
        a21.intoArray(buf, 9 * L);
        a22.intoArray(buf, 10 * L);
        a23.intoArray(buf, 11 * L);
        a30.intoArray(buf, 12 * L);
        a31.intoArray(buf, 13 * L);
        a32.intoArray(buf, 14 * L);
        a33.intoArray(buf, 15 * L);
        reduce16(buf, res);
    }

    private static void dot1x4F32(float[] x, int x0, MemorySegment w,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < kv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + k);
            long b = 4L * k;
            a0 = v0.fma(FloatVector.fromMemorySegment(F, w, w0 + b, LE), a0);
            a1 = v0.fma(FloatVector.fromMemorySegment(F, w, w1 + b, LE), a1);
            a2 = v0.fma(FloatVector.fromMemorySegment(F, w, w2 + b, LE), a2);
            a3 = v0.fma(FloatVector.fromMemorySegment(F, w, w3 + b, LE), a3);
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, L);
        a2.intoArray(buf, 2 * L);
        a3.intoArray(buf, 3 * L);
        reduce(buf, res, 4);
    }

    private static void dot1x4Bf16(float[] x, int x0, MemorySegment w,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < kv; k += 2 * L) {
            FloatVector e0 = FloatVector.fromArray(F, x, x0 + k), o0 = FloatVector.fromArray(F, x, x0 + k + L);
            long b = 2L * k;
            IntVector p = IntVector.fromMemorySegment(I, w, w0 + b, LE);
            a0 = e0.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            a0 = o0.fma(p.and(0xFFFF0000).reinterpretAsFloats(), a0);
            p = IntVector.fromMemorySegment(I, w, w1 + b, LE);
            a1 = e0.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
            a1 = o0.fma(p.and(0xFFFF0000).reinterpretAsFloats(), a1);
            p = IntVector.fromMemorySegment(I, w, w2 + b, LE);
            a2 = e0.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a2);
            a2 = o0.fma(p.and(0xFFFF0000).reinterpretAsFloats(), a2);
            p = IntVector.fromMemorySegment(I, w, w3 + b, LE);
            a3 = e0.fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a3);
            a3 = o0.fma(p.and(0xFFFF0000).reinterpretAsFloats(), a3);
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, L);
        a2.intoArray(buf, 2 * L);
        a3.intoArray(buf, 3 * L);
        reduce(buf, res, 4);
    }

    private static void dot2x4Bf16(float[] x, int x0, int x1, MemorySegment w,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        for (int k = 0; k < kv; k += 2 * L) {
            FloatVector e0 = FloatVector.fromArray(F, x, x0 + k), o0 = FloatVector.fromArray(F, x, x0 + k + L);
            FloatVector e1 = FloatVector.fromArray(F, x, x1 + k), o1 = FloatVector.fromArray(F, x, x1 + k + L);
            long b = 2L * k;
            IntVector p = IntVector.fromMemorySegment(I, w, w0 + b, LE);
            FloatVector lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a00 = o0.fma(hi, e0.fma(lo, a00));
            a10 = o1.fma(hi, e1.fma(lo, a10));
            p = IntVector.fromMemorySegment(I, w, w1 + b, LE);
            lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a01 = o0.fma(hi, e0.fma(lo, a01));
            a11 = o1.fma(hi, e1.fma(lo, a11));
            p = IntVector.fromMemorySegment(I, w, w2 + b, LE);
            lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a02 = o0.fma(hi, e0.fma(lo, a02));
            a12 = o1.fma(hi, e1.fma(lo, a12));
            p = IntVector.fromMemorySegment(I, w, w3 + b, LE);
            lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a03 = o0.fma(hi, e0.fma(lo, a03));
            a13 = o1.fma(hi, e1.fma(lo, a13));
        }
        a00.intoArray(buf, 0);
        a01.intoArray(buf, L);
        a02.intoArray(buf, 2 * L);
        a03.intoArray(buf, 3 * L);
        a10.intoArray(buf, 4 * L);
        a11.intoArray(buf, 5 * L);
        a12.intoArray(buf, 6 * L);
        a13.intoArray(buf, 7 * L);
        reduce(buf, res, 8);
    }

    private static void dot4x4Bf16(float[] x, int x0, int x1, int x2, int x3, MemorySegment w,
            long w0, long w1, long w2, long w3, int kv, float[] buf, float[] res) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < kv; k += 2 * L) {
            FloatVector e0 = FloatVector.fromArray(F, x, x0 + k), o0 = FloatVector.fromArray(F, x, x0 + k + L);
            FloatVector e1 = FloatVector.fromArray(F, x, x1 + k), o1 = FloatVector.fromArray(F, x, x1 + k + L);
            FloatVector e2 = FloatVector.fromArray(F, x, x2 + k), o2 = FloatVector.fromArray(F, x, x2 + k + L);
            FloatVector e3 = FloatVector.fromArray(F, x, x3 + k), o3 = FloatVector.fromArray(F, x, x3 + k + L);
            long b = 2L * k;
            IntVector p = IntVector.fromMemorySegment(I, w, w0 + b, LE);
            FloatVector lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a00 = o0.fma(hi, e0.fma(lo, a00));
            a10 = o1.fma(hi, e1.fma(lo, a10));
            a20 = o2.fma(hi, e2.fma(lo, a20));
            a30 = o3.fma(hi, e3.fma(lo, a30));
            p = IntVector.fromMemorySegment(I, w, w1 + b, LE);
            lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a01 = o0.fma(hi, e0.fma(lo, a01));
            a11 = o1.fma(hi, e1.fma(lo, a11));
            a21 = o2.fma(hi, e2.fma(lo, a21));
            a31 = o3.fma(hi, e3.fma(lo, a31));
            p = IntVector.fromMemorySegment(I, w, w2 + b, LE);
            lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a02 = o0.fma(hi, e0.fma(lo, a02));
            a12 = o1.fma(hi, e1.fma(lo, a12));
            a22 = o2.fma(hi, e2.fma(lo, a22));
            a32 = o3.fma(hi, e3.fma(lo, a32));
            p = IntVector.fromMemorySegment(I, w, w3 + b, LE);
            lo = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            hi = p.and(0xFFFF0000).reinterpretAsFloats();
            a03 = o0.fma(hi, e0.fma(lo, a03));
            a13 = o1.fma(hi, e1.fma(lo, a13));
            a23 = o2.fma(hi, e2.fma(lo, a23));
            a33 = o3.fma(hi, e3.fma(lo, a33));
        }
        a00.intoArray(buf, 0);
        a01.intoArray(buf, L);
        a02.intoArray(buf, 2 * L);
        a03.intoArray(buf, 3 * L);
        a10.intoArray(buf, 4 * L);
        a11.intoArray(buf, 5 * L);
        a12.intoArray(buf, 6 * L);
        a13.intoArray(buf, 7 * L);
        a20.intoArray(buf, 8 * L);
        a21.intoArray(buf, 9 * L);
        a22.intoArray(buf, 10 * L);
        a23.intoArray(buf, 11 * L);
        a30.intoArray(buf, 12 * L);
        a31.intoArray(buf, 13 * L);
        a32.intoArray(buf, 14 * L);
        a33.intoArray(buf, 15 * L);
        reduce16(buf, res);
    }

    // ------------------------------------------------------------------ prefill: output columns across the lanes

    /*
     * The same contract computed the other way round. For a fixed lane j, the lane-split dot product
     * of (x row t, W row n) is the chain acc = fma(x[t, k], W[n, k], acc) over k = j, j+L, j+2L, ...
     * That chain does not care which register lane holds it: the prefill kernel keeps L output columns
     * n in the lanes of one accumulator and runs the chains of one j at a time (x[t, k] broadcast,
     * W[n0..n0+L, k] a vector of a K-major panel). It then has the L partial sums of every output in L
     * separate tiles and adds them in the tree fold() specifies; the tail (k >= kv) and the bias follow
     * in order. Every output sees the same operations, in the same order, on the same operands as in
     * dot1x4, so the bits are the same; but a register now holds L outputs instead of one, so each
     * loaded weight vector serves MR rows and each broadcast x value NV vectors: 24 FMAs per 6 vector
     * loads and 4 broadcasts, and no horizontal sum in the loop. (MR = 8, NV = 3 measured slower: a
     * broadcast costs a shuffle-port micro-op next to the FMAs.)
     */

    /** x rows per micro-tile of {@link #kernel}. */
    static final int MR = 4;
    /** Vectors of output columns per micro-tile. */
    static final int NV = 6;
    /** Output columns per micro-tile (and per packed W panel). */
    static final int NR = NV * L;
    /** x rows per packed block of A (a multiple of L and of MR). */
    static final int XB = 16;
    /** log2(L): the fold tree's depth. */
    static final int LOG_L = Integer.numberOfTrailingZeros(L);

    /**
     * One lane's chains for an MR x NR tile: dst[d0 + r*NR + c] = the chain of
     * fma(ap[a0 + s*XB + r], bp[b0 + s*NR + c], .) over s &lt; steps in order, starting from +0, or
     * with {@code resume} from the value in dst (a chain run in several pieces gives the same bits).
     * ap holds x values (one packed A block, stride XB per step), bp W values (a packed panel, NR
     * columns per step).
     */
    static void kernel(float[] ap, int a0, float[] bp, int b0, int steps, float[] dst, int d0, boolean resume) {
        FloatVector c00 = FloatVector.zero(F);
        FloatVector c01 = c00, c02 = c00, c03 = c00, c04 = c00, c05 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c13 = c00, c14 = c00, c15 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c24 = c00;
        FloatVector c25 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00, c34 = c00, c35 = c00;
        if (resume) { // the chains continue from the partial sums in dst
            c00 = FloatVector.fromArray(F, dst, d0);
            c01 = FloatVector.fromArray(F, dst, d0 + L);
            c02 = FloatVector.fromArray(F, dst, d0 + 2 * L);
            c03 = FloatVector.fromArray(F, dst, d0 + 3 * L);
            c04 = FloatVector.fromArray(F, dst, d0 + 4 * L);
            c05 = FloatVector.fromArray(F, dst, d0 + 5 * L);
            c10 = FloatVector.fromArray(F, dst, d0 + NR);
            c11 = FloatVector.fromArray(F, dst, d0 + NR + L);
            c12 = FloatVector.fromArray(F, dst, d0 + NR + 2 * L);
            c13 = FloatVector.fromArray(F, dst, d0 + NR + 3 * L);
            c14 = FloatVector.fromArray(F, dst, d0 + NR + 4 * L);
            c15 = FloatVector.fromArray(F, dst, d0 + NR + 5 * L);
            c20 = FloatVector.fromArray(F, dst, d0 + 2 * NR);
            c21 = FloatVector.fromArray(F, dst, d0 + 2 * NR + L);
            c22 = FloatVector.fromArray(F, dst, d0 + 2 * NR + 2 * L);
            c23 = FloatVector.fromArray(F, dst, d0 + 2 * NR + 3 * L);
            c24 = FloatVector.fromArray(F, dst, d0 + 2 * NR + 4 * L);
            c25 = FloatVector.fromArray(F, dst, d0 + 2 * NR + 5 * L);
            c30 = FloatVector.fromArray(F, dst, d0 + 3 * NR);
            c31 = FloatVector.fromArray(F, dst, d0 + 3 * NR + L);
            c32 = FloatVector.fromArray(F, dst, d0 + 3 * NR + 2 * L);
            c33 = FloatVector.fromArray(F, dst, d0 + 3 * NR + 3 * L);
            c34 = FloatVector.fromArray(F, dst, d0 + 3 * NR + 4 * L);
            c35 = FloatVector.fromArray(F, dst, d0 + 3 * NR + 5 * L);
        }
        for (int s = 0; s < steps; s++) {
            int a = a0 + s * XB;
            int b = b0 + s * NR;
            FloatVector w0 = FloatVector.fromArray(F, bp, b);
            FloatVector w1 = FloatVector.fromArray(F, bp, b + L);
            FloatVector w2 = FloatVector.fromArray(F, bp, b + 2 * L);
            FloatVector w3 = FloatVector.fromArray(F, bp, b + 3 * L);
            FloatVector w4 = FloatVector.fromArray(F, bp, b + 4 * L);
            FloatVector w5 = FloatVector.fromArray(F, bp, b + 5 * L);
            FloatVector x;
            x = FloatVector.broadcast(F, ap[a]);
            c00 = x.fma(w0, c00);
            c01 = x.fma(w1, c01);
            c02 = x.fma(w2, c02);
            c03 = x.fma(w3, c03);
            c04 = x.fma(w4, c04);
            c05 = x.fma(w5, c05);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = x.fma(w0, c10);
            c11 = x.fma(w1, c11);
            c12 = x.fma(w2, c12);
            c13 = x.fma(w3, c13);
            c14 = x.fma(w4, c14);
            c15 = x.fma(w5, c15);
            x = FloatVector.broadcast(F, ap[a + 2]);
            c20 = x.fma(w0, c20);
            c21 = x.fma(w1, c21);
            c22 = x.fma(w2, c22);
            c23 = x.fma(w3, c23);
            c24 = x.fma(w4, c24);
            c25 = x.fma(w5, c25);
            x = FloatVector.broadcast(F, ap[a + 3]);
            c30 = x.fma(w0, c30);
            c31 = x.fma(w1, c31);
            c32 = x.fma(w2, c32);
            c33 = x.fma(w3, c33);
            c34 = x.fma(w4, c34);
            c35 = x.fma(w5, c35);
        }
        c00.intoArray(dst, d0);
        c01.intoArray(dst, d0 + L);
        c02.intoArray(dst, d0 + 2 * L);
        c03.intoArray(dst, d0 + 3 * L);
        c04.intoArray(dst, d0 + 4 * L);
        c05.intoArray(dst, d0 + 5 * L);
        c10.intoArray(dst, d0 + NR);
        c11.intoArray(dst, d0 + NR + L);
        c12.intoArray(dst, d0 + NR + 2 * L);
        c13.intoArray(dst, d0 + NR + 3 * L);
        c14.intoArray(dst, d0 + NR + 4 * L);
        c15.intoArray(dst, d0 + NR + 5 * L);
        c20.intoArray(dst, d0 + 2 * NR);
        c21.intoArray(dst, d0 + 2 * NR + L);
        c22.intoArray(dst, d0 + 2 * NR + 2 * L);
        c23.intoArray(dst, d0 + 2 * NR + 3 * L);
        c24.intoArray(dst, d0 + 2 * NR + 4 * L);
        c25.intoArray(dst, d0 + 2 * NR + 5 * L);
        c30.intoArray(dst, d0 + 3 * NR);
        c31.intoArray(dst, d0 + 3 * NR + L);
        c32.intoArray(dst, d0 + 3 * NR + 2 * L);
        c33.intoArray(dst, d0 + 3 * NR + 3 * L);
        c34.intoArray(dst, d0 + 3 * NR + 4 * L);
        c35.intoArray(dst, d0 + 3 * NR + 5 * L);
    }

    /*
     * Transposes: at width w, rows i and i+w (bit w of i clear) swap their off-diagonal w-blocks;
     * after w = L/2, ..., 1 row i holds column i. 8 and 16 lanes have their own forms in registers
     * (transpose8, transpose16, below); the general form here serves the 2- and 4-lane shapes. Each of
     * its steps is one two-vector permute per output row (selectFrom over the pair), and each width is
     * its own small method.
     */
    private static final FloatVector PICK_LO_2 = pick(2, false), PICK_HI_2 = pick(2, true);
    private static final FloatVector PICK_LO_1 = pick(1, false), PICK_HI_1 = pick(1, true);

    /** Lane indices into (a, b) concatenated: the new row i (upper = false) or i+w (upper = true). */
    private static FloatVector pick(int w, boolean upper) {
        if (w >= L) {
            return null;
        }
        float[] idx = new float[L];
        for (int c = 0; c < L; c++) {
            boolean high = (c & w) != 0;
            idx[c] = upper ? (high ? L + c : c + w) : (high ? L + c - w : c);
        }
        return FloatVector.fromArray(F, idx, 0);
    }

    /**
     * dst[d0 + j*dstStride + i] = src[s0 + i*srcStride + j] for i, j &lt; L: an L x L block transposed
     * through {@code scratch} (L*L floats).
     */
    static void transpose(float[] src, int s0, int srcStride, float[] dst, int d0, int dstStride, float[] scratch) {
        if (L == 8) {
            transpose8(src, s0, srcStride, dst, d0, dstStride);
            return;
        }
        if (L == 16) {
            transpose16(src, s0, srcStride, dst, d0, dstStride);
            return;
        }
        int w = L / 2;
        float[] in = src;
        int i0 = s0, is = srcStride;
        while (w >= 1) {
            boolean last = w == 1;
            float[] out = last ? dst : scratch;
            int o0 = last ? d0 : 0, os = last ? dstStride : L;
            if (w == 2) {
                step2(in, i0, is, out, o0, os);
            } else {
                step1(in, i0, is, out, o0, os);
            }
            in = scratch;
            i0 = 0;
            is = L;
            w /= 2;
        }
    }

    private static void step2(float[] in, int i0, int is, float[] out, int o0, int os) {
        for (int i = 0; i < L; i += 4) {
            for (int r = i; r < i + 2; r++) {
                FloatVector a = FloatVector.fromArray(F, in, i0 + r * is);
                FloatVector b = FloatVector.fromArray(F, in, i0 + (r + 2) * is);
                PICK_LO_2.selectFrom(a, b).intoArray(out, o0 + r * os);
                PICK_HI_2.selectFrom(a, b).intoArray(out, o0 + (r + 2) * os);
            }
        }
    }

    private static void step1(float[] in, int i0, int is, float[] out, int o0, int os) {
        for (int r = 0; r < L; r += 2) {
            FloatVector a = FloatVector.fromArray(F, in, i0 + r * is);
            FloatVector b = FloatVector.fromArray(F, in, i0 + (r + 1) * is);
            PICK_LO_1.selectFrom(a, b).intoArray(out, o0 + r * os);
            PICK_HI_1.selectFrom(a, b).intoArray(out, o0 + (r + 1) * os);
        }
    }

    /*
     * The transposes for 8 and 16 lanes (AVX2, AVX-512) in registers: the same width steps as
     * transpose's, each row pair (a = row i, b = row i + w) becoming
     *   row i:     a with the lanes that have bit w set (HI_w) taken from b's swapped halves (SWAP_w),
     *   row i + w: b with the other lanes taken from a's swapped halves,
     * i.e. one single-vector permute and one blend per output row, all with constant operands, and no
     * round trip through memory between the steps (transpose's general form stores every step to
     * scratch, and its two-vector selectFrom with an index vector costs several instructions per row:
     * packing a 2048 x 8192 bf16 weight took 11 ms of a 38 ms T = 128 GEMM on one thread, 6.5 ms now).
     * Written out rather than through small helpers taking vectors: with those, C2 left the vectors
     * boxed and the 16-lane transpose ran 5x slower.
     */
    /** transpose for L = 8: dst[d0 + j*ds + i] = src[s0 + i*ss + j] for i, j &lt; 8. */
    static void transpose8(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
        FloatVector r0 = FloatVector.fromArray(F, src, s0 + 0 * ss);
        FloatVector r1 = FloatVector.fromArray(F, src, s0 + 1 * ss);
        FloatVector r2 = FloatVector.fromArray(F, src, s0 + 2 * ss);
        FloatVector r3 = FloatVector.fromArray(F, src, s0 + 3 * ss);
        FloatVector r4 = FloatVector.fromArray(F, src, s0 + 4 * ss);
        FloatVector r5 = FloatVector.fromArray(F, src, s0 + 5 * ss);
        FloatVector r6 = FloatVector.fromArray(F, src, s0 + 6 * ss);
        FloatVector r7 = FloatVector.fromArray(F, src, s0 + 7 * ss);
        // width 4
        FloatVector a0 = r0.blend(r4.rearrange(SWAP_4), HI_4), a4 = r0.rearrange(SWAP_4).blend(r4, HI_4);
        FloatVector a1 = r1.blend(r5.rearrange(SWAP_4), HI_4), a5 = r1.rearrange(SWAP_4).blend(r5, HI_4);
        FloatVector a2 = r2.blend(r6.rearrange(SWAP_4), HI_4), a6 = r2.rearrange(SWAP_4).blend(r6, HI_4);
        FloatVector a3 = r3.blend(r7.rearrange(SWAP_4), HI_4), a7 = r3.rearrange(SWAP_4).blend(r7, HI_4);
        // width 2
        FloatVector b0 = a0.blend(a2.rearrange(SWAP_2), HI_2), b2 = a0.rearrange(SWAP_2).blend(a2, HI_2);
        FloatVector b1 = a1.blend(a3.rearrange(SWAP_2), HI_2), b3 = a1.rearrange(SWAP_2).blend(a3, HI_2);
        FloatVector b4 = a4.blend(a6.rearrange(SWAP_2), HI_2), b6 = a4.rearrange(SWAP_2).blend(a6, HI_2);
        FloatVector b5 = a5.blend(a7.rearrange(SWAP_2), HI_2), b7 = a5.rearrange(SWAP_2).blend(a7, HI_2);
        // width 1, stored as they come
        b0.blend(b1.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 0 * ds);
        b0.rearrange(SWAP_1).blend(b1, HI_1).intoArray(dst, d0 + 1 * ds);
        b2.blend(b3.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 2 * ds);
        b2.rearrange(SWAP_1).blend(b3, HI_1).intoArray(dst, d0 + 3 * ds);
        b4.blend(b5.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 4 * ds);
        b4.rearrange(SWAP_1).blend(b5, HI_1).intoArray(dst, d0 + 5 * ds);
        b6.blend(b7.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 6 * ds);
        b6.rearrange(SWAP_1).blend(b7, HI_1).intoArray(dst, d0 + 7 * ds);
    }

    /** transpose for L = 16: dst[d0 + j*ds + i] = src[s0 + i*ss + j] for i, j &lt; 16. */
    static void transpose16(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
        FloatVector r0 = FloatVector.fromArray(F, src, s0 + 0 * ss);
        FloatVector r1 = FloatVector.fromArray(F, src, s0 + 1 * ss);
        FloatVector r2 = FloatVector.fromArray(F, src, s0 + 2 * ss);
        FloatVector r3 = FloatVector.fromArray(F, src, s0 + 3 * ss);
        FloatVector r4 = FloatVector.fromArray(F, src, s0 + 4 * ss);
        FloatVector r5 = FloatVector.fromArray(F, src, s0 + 5 * ss);
        FloatVector r6 = FloatVector.fromArray(F, src, s0 + 6 * ss);
        FloatVector r7 = FloatVector.fromArray(F, src, s0 + 7 * ss);
        FloatVector r8 = FloatVector.fromArray(F, src, s0 + 8 * ss);
        FloatVector r9 = FloatVector.fromArray(F, src, s0 + 9 * ss);
        FloatVector r10 = FloatVector.fromArray(F, src, s0 + 10 * ss);
        FloatVector r11 = FloatVector.fromArray(F, src, s0 + 11 * ss);
        FloatVector r12 = FloatVector.fromArray(F, src, s0 + 12 * ss);
        FloatVector r13 = FloatVector.fromArray(F, src, s0 + 13 * ss);
        FloatVector r14 = FloatVector.fromArray(F, src, s0 + 14 * ss);
        FloatVector r15 = FloatVector.fromArray(F, src, s0 + 15 * ss);
        // width 8
        FloatVector a0 = r0.blend(r8.rearrange(SWAP_8), HI_8), a8 = r0.rearrange(SWAP_8).blend(r8, HI_8);
        FloatVector a1 = r1.blend(r9.rearrange(SWAP_8), HI_8), a9 = r1.rearrange(SWAP_8).blend(r9, HI_8);
        FloatVector a2 = r2.blend(r10.rearrange(SWAP_8), HI_8), a10 = r2.rearrange(SWAP_8).blend(r10, HI_8);
        FloatVector a3 = r3.blend(r11.rearrange(SWAP_8), HI_8), a11 = r3.rearrange(SWAP_8).blend(r11, HI_8);
        FloatVector a4 = r4.blend(r12.rearrange(SWAP_8), HI_8), a12 = r4.rearrange(SWAP_8).blend(r12, HI_8);
        FloatVector a5 = r5.blend(r13.rearrange(SWAP_8), HI_8), a13 = r5.rearrange(SWAP_8).blend(r13, HI_8);
        FloatVector a6 = r6.blend(r14.rearrange(SWAP_8), HI_8), a14 = r6.rearrange(SWAP_8).blend(r14, HI_8);
        FloatVector a7 = r7.blend(r15.rearrange(SWAP_8), HI_8), a15 = r7.rearrange(SWAP_8).blend(r15, HI_8);
        // width 4
        FloatVector b0 = a0.blend(a4.rearrange(SWAP_4), HI_4), b4 = a0.rearrange(SWAP_4).blend(a4, HI_4);
        FloatVector b1 = a1.blend(a5.rearrange(SWAP_4), HI_4), b5 = a1.rearrange(SWAP_4).blend(a5, HI_4);
        FloatVector b2 = a2.blend(a6.rearrange(SWAP_4), HI_4), b6 = a2.rearrange(SWAP_4).blend(a6, HI_4);
        FloatVector b3 = a3.blend(a7.rearrange(SWAP_4), HI_4), b7 = a3.rearrange(SWAP_4).blend(a7, HI_4);
        FloatVector b8 = a8.blend(a12.rearrange(SWAP_4), HI_4), b12 = a8.rearrange(SWAP_4).blend(a12, HI_4);
        FloatVector b9 = a9.blend(a13.rearrange(SWAP_4), HI_4), b13 = a9.rearrange(SWAP_4).blend(a13, HI_4);
        FloatVector b10 = a10.blend(a14.rearrange(SWAP_4), HI_4), b14 = a10.rearrange(SWAP_4).blend(a14, HI_4);
        FloatVector b11 = a11.blend(a15.rearrange(SWAP_4), HI_4), b15 = a11.rearrange(SWAP_4).blend(a15, HI_4);
        // width 2
        FloatVector c0 = b0.blend(b2.rearrange(SWAP_2), HI_2), c2 = b0.rearrange(SWAP_2).blend(b2, HI_2);
        FloatVector c1 = b1.blend(b3.rearrange(SWAP_2), HI_2), c3 = b1.rearrange(SWAP_2).blend(b3, HI_2);
        FloatVector c4 = b4.blend(b6.rearrange(SWAP_2), HI_2), c6 = b4.rearrange(SWAP_2).blend(b6, HI_2);
        FloatVector c5 = b5.blend(b7.rearrange(SWAP_2), HI_2), c7 = b5.rearrange(SWAP_2).blend(b7, HI_2);
        FloatVector c8 = b8.blend(b10.rearrange(SWAP_2), HI_2), c10 = b8.rearrange(SWAP_2).blend(b10, HI_2);
        FloatVector c9 = b9.blend(b11.rearrange(SWAP_2), HI_2), c11 = b9.rearrange(SWAP_2).blend(b11, HI_2);
        FloatVector c12 = b12.blend(b14.rearrange(SWAP_2), HI_2), c14 = b12.rearrange(SWAP_2).blend(b14, HI_2);
        FloatVector c13 = b13.blend(b15.rearrange(SWAP_2), HI_2), c15 = b13.rearrange(SWAP_2).blend(b15, HI_2);
        // width 1, stored as they come
        c0.blend(c1.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 0 * ds);
        c0.rearrange(SWAP_1).blend(c1, HI_1).intoArray(dst, d0 + 1 * ds);
        c2.blend(c3.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 2 * ds);
        c2.rearrange(SWAP_1).blend(c3, HI_1).intoArray(dst, d0 + 3 * ds);
        c4.blend(c5.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 4 * ds);
        c4.rearrange(SWAP_1).blend(c5, HI_1).intoArray(dst, d0 + 5 * ds);
        c6.blend(c7.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 6 * ds);
        c6.rearrange(SWAP_1).blend(c7, HI_1).intoArray(dst, d0 + 7 * ds);
        c8.blend(c9.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 8 * ds);
        c8.rearrange(SWAP_1).blend(c9, HI_1).intoArray(dst, d0 + 9 * ds);
        c10.blend(c11.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 10 * ds);
        c10.rearrange(SWAP_1).blend(c11, HI_1).intoArray(dst, d0 + 11 * ds);
        c12.blend(c13.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 12 * ds);
        c12.rearrange(SWAP_1).blend(c13, HI_1).intoArray(dst, d0 + 13 * ds);
        c14.blend(c15.rearrange(SWAP_1), HI_1).intoArray(dst, d0 + 14 * ds);
        c14.rearrange(SWAP_1).blend(c15, HI_1).intoArray(dst, d0 + 15 * ds);
    }
}
