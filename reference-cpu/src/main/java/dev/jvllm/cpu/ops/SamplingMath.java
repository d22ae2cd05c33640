package dev.jvllm.cpu.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row primitives shared by the sampling kernels ({@link ArgmaxKernel}, {@link SampleKernel},
 * {@link TopLogprobsKernel}): argmax, max, the f64 sum of {@code exp(x − m)}, and top-n selection.
 * Each has a scalar form (the specification) and, where it pays off over V up to ~150k, a SIMD form.
 *
 * <p>Orders are fixed: the scalar sums run in ascending index; the SIMD sum keeps one f64
 * accumulator per lane of {@link #DS} (two vectors), adds the lanes in index order at the end, then
 * the tail in index order. Neither depends on the thread count, so results are deterministic (the
 * SIMD order follows the machine's preferred vector width, so it is fixed per machine); SIMD and
 * scalar differ only by rounding (and by the vector {@code exp}, within 1 ulp of f32). Max and
 * argmax are exact in both forms.
 */
final class SamplingMath {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** Same bit size as {@link #FS}: one float vector widens into two of these. */
    static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private SamplingMath() {
    }

    // ---- argmax: ties → lowest index, NaN larger than every number ----

    /** Index of the largest of x[0..n), n ≥ 1. */
    static int argmax(float[] x, int n) {
        int best = 0;
        float bv = x[0];
        if (Float.isNaN(bv)) {
            return 0;
        }
        for (int i = 1; i < n; i++) {
            float v = x[i];
            if (Float.isNaN(v)) {
                return i; // the first NaN wins: NaN beats every number, earlier NaNs beat later ones
            }
            if (v > bv) {
                bv = v;
                best = i;
            }
        }
        return best;
    }

    /** SIMD form of {@link #argmax(float[], int)}: a max pass, then the first index holding the max. */
    static int argmaxSimd(float[] x, int n) {
        float m = maxSimd(x, n);
        int l = FS.length();
        int i = 0;
        if (Float.isNaN(m)) {
            for (; i <= n - l; i += l) {
                VectorMask<Float> hit = FloatVector.fromArray(FS, x, i).test(VectorOperators.IS_NAN);
                if (hit.anyTrue()) {
                    return i + hit.firstTrue();
                }
            }
            for (; i < n; i++) {
                if (Float.isNaN(x[i])) {
                    return i;
                }
            }
        } else {
            for (; i <= n - l; i += l) {
                VectorMask<Float> hit = FloatVector.fromArray(FS, x, i).compare(VectorOperators.EQ, m);
                if (hit.anyTrue()) {
                    return i + hit.firstTrue();
                }
            }
            for (; i < n; i++) {
                if (x[i] == m) {
                    return i;
                }
            }
        }
        throw new AssertionError("max " + m + " not found in its own row");
    }

    /** SIMD argmax over n contiguous little-endian f32 values at {@code base} in {@code seg} (no copy). */
    static int argmaxSimd(MemorySegment seg, long base, int n) {
        int l = FS.length();
        FloatVector acc = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - l; i += l) {
            acc = acc.max(FloatVector.fromMemorySegment(FS, seg, base + 4L * i, ByteOrder.LITTLE_ENDIAN));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, seg.get(F32, base + 4L * i));
        }
        boolean nan = Float.isNaN(m);
        i = 0;
        for (; i <= n - l; i += l) {
            FloatVector v = FloatVector.fromMemorySegment(FS, seg, base + 4L * i, ByteOrder.LITTLE_ENDIAN);
            VectorMask<Float> hit = nan ? v.test(VectorOperators.IS_NAN) : v.compare(VectorOperators.EQ, m);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        for (; i < n; i++) {
            float v = seg.get(F32, base + 4L * i);
            if (nan ? Float.isNaN(v) : v == m) {
                return i;
            }
        }
        throw new AssertionError("max " + m + " not found in its own row");
    }

    // ---- max ----

    /** max of x[0..n) with Math.max semantics (NaN if any is NaN); −∞ for n = 0. */
    static float max(float[] x, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    /** SIMD form of {@link #max}: exact, so equal to the scalar form bit for bit. */
    static float maxSimd(float[] x, int n) {
        int l = FS.length();
        FloatVector acc = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - l; i += l) {
            acc = acc.max(FloatVector.fromArray(FS, x, i));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    // ---- Σ exp(x − m) ----

    /** Σ_i f32(exp(f32(x[i] − m))) in f64, ascending i. */
    static double expSum(float[] x, int n, float m) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (float) Math.exp(x[i] - m);
        }
        return s;
    }

    /**
     * SIMD form of {@link #expSum}: vector exp in f32, widened to f64 and summed per lane (see the
     * class comment for the fixed order).
     */
    static double expSumSimd(float[] x, int n, float m) {
        int l = FS.length();
        FloatVector vm = FloatVector.broadcast(FS, m);
        DoubleVector lo = DoubleVector.zero(DS);
        DoubleVector hi = DoubleVector.zero(DS);
        int i = 0;
        for (; i <= n - l; i += l) {
            FloatVector e = AttentionMath.exp(FloatVector.fromArray(FS, x, i).sub(vm)); // x - m <= 0; not lanewise(EXP)
            lo = lo.add((DoubleVector) e.convertShape(VectorOperators.F2D, DS, 0));
            hi = hi.add((DoubleVector) e.convertShape(VectorOperators.F2D, DS, 1));
        }
        double s = 0;
        double[] lanes = new double[DS.length()];
        lo.intoArray(lanes, 0);
        for (double d : lanes) {
            s += d;
        }
        hi.intoArray(lanes, 0);
        for (double d : lanes) {
            s += d;
        }
        for (; i < n; i++) {
            s += (float) Math.exp(x[i] - m);
        }
        return s;
    }

    // ---- ranking ----

    /**
     * A key whose signed order is "larger value first, then lower id": value order with NaN above
     * +∞ and −0 equal to +0 in the high half, {@code ~id} (unsigned) in the low half.
     */
    static long rankKey(float v, int id) {
        int bits = Float.floatToIntBits(v == 0f ? 0f : v); // canonical NaN; −0 ranks as +0
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ordered << 32) | (~id & 0xffffffffL);
    }

    /** The id stored in a {@link #rankKey}. */
    static int rankId(long key) {
        return ~(int) key;
    }

    /**
     * The ids of the {@code count} largest of x[0..n) in descending order (ties → lower id, NaN
     * largest): a min-heap of {@link #rankKey}s, O(n log count).
     */
    static int[] topN(float[] x, int n, int count) {
        int k = Math.min(count, n);
        if (k <= 0) {
            return new int[0];
        }
        long[] heap = new long[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            long key = rankKey(x[i], i);
            if (size < k) {
                heap[size] = key;
                siftUp(heap, size++);
            } else if (key > heap[0]) {
                heap[0] = key;
                siftDown(heap, k);
            }
        }
        java.util.Arrays.sort(heap);
        int[] ids = new int[k];
        for (int j = 0; j < k; j++) {
            ids[j] = rankId(heap[k - 1 - j]);
        }
        return ids;
    }

    private static void siftUp(long[] h, int i) {
        long v = h[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= v) {
                break;
            }
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
    }

    private static void siftDown(long[] h, int size) {
        long v = h[0];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && h[c + 1] < h[c]) {
                c++;
            }
            if (h[c] >= v) {
                break;
            }
            h[i] = h[c];
            i = c;
        }
        h[i] = v;
    }
}
