package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API building blocks shared by the SIMD forms of the CPU kernels: row conversion between
 * storage dtypes and {@code float[]} scratch rows, transcendental functions in place on scratch
 * rows, and reductions in a fixed order. (Why everything takes arrays, never vectors: see the
 * comment above the transcendentals.)
 *
 * <p><b>Determinism.</b> Everything here uses only IEEE-exact lane operations (add, mul, fma,
 * div, sqrt, min/max, integer bit operations, exact conversions). Those give the same bits in the
 * Vector API's Java fallback (interpreter, C1) and in C2's intrinsics, so a kernel's result does
 * not depend on JIT state or on which thread ran it. For that reason this class does <em>not</em>
 * use {@code lanewise(EXP/TANH/LOG)} (SVML stubs when compiled, {@code Math.*} per lane when
 * interpreted: the two differ in the last ulp) nor {@code reduceLanes(ADD)} (whose float
 * summation order is unspecified).
 *
 * <p><b>Accuracy.</b> {@link #exp(float[], int)} and {@link #tanh(float[], float[], int)} are
 * Cephes-style single-precision approximations (≤ 2 ulp from {@code Math.exp}/{@code Math.tanh}
 * rounded to f32; sigmoid, silu, softplus ≤ 4 ulp; gelu_tanh ≤ 12 ulp where |2u| amplifies the
 * rounding of u; see {@code VectorMathTest}); {@link #erf(float[], int)} evaluates a (6,5)
 * rational minimax fit in f64 lanes (absolute error ≤ 5e-9 before the final rounding to f32),
 * the same fit {@link #erf(double)} gives the scalar forms. The scalar forms of the kernels use
 * {@code Math.exp/tanh/log1p} in f64, so SIMD and scalar results may differ by a few f32 ulp:
 * well inside the conformance tolerances of the elementwise ops.
 */
final class VectorMath {
    private VectorMath() {
    }

    /** The preferred float species (256-bit with AVX2, 512-bit with AVX-512). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Lanes of {@link #F}. */
    static final int VL = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Shorts with as many lanes as {@link #F}: half its bit size (bf16/f16 rows). */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** Doubles of {@link #F}'s bit size: half as many lanes. */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    /** Floats of half {@link #F}'s bit size: as many lanes as {@link #D}, for f32 ↔ f64 widening. */
    static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** {@code n} rounded up to a multiple of {@link #VL}: the length of padded scratch rows. */
    static int padded(int n) {
        return (n + VL - 1) / VL * VL;
    }

    /** True for the activation dtypes the SIMD row converters handle: F32, BF16, F16. */
    static boolean isActivationType(DType t) {
        return t == DType.F32 || t == DType.BF16 || t == DType.F16;
    }

    // ---------------------------------------------------------------------------------------
    // Row conversion: storage (any float dtype) <-> float[] scratch

    /**
     * {@code dst[off + j] = f32(element j)} for j &lt; n, reading {@code n} elements of {@code dt}
     * starting {@code byteOff} bytes into {@code seg}. Exact for every supported dtype.
     */
    static void load(MemorySegment seg, long byteOff, DType dt, float[] dst, int off, int n) {
        switch (dt) {
            case F32 -> MemorySegment.copy(seg, F32_LE, byteOff, dst, off, n);
            case BF16 -> {
                int j = 0;
                for (int bound = n - VL; j <= bound; j += VL) {
                    ShortVector s = ShortVector.fromMemorySegment(S, seg, byteOff + 2L * j, LE);
                    ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                            .reinterpretAsFloats().intoArray(dst, off + j);
                }
                for (; j < n; j++) {
                    dst[off + j] = Float.intBitsToFloat(seg.get(I16_LE, byteOff + 2L * j) << 16);
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    dst[off + j] = Float.float16ToFloat(seg.get(I16_LE, byteOff + 2L * j));
                }
            }
            case F8_E4M3 -> {
                for (int j = 0; j < n; j++) {
                    dst[off + j] = Numerics.e4m3ToF32(seg.get(ValueLayout.JAVA_BYTE, byteOff + j));
                }
            }
            default -> throw new IllegalArgumentException("cannot load " + dt + " as floats: not a float dtype");
        }
    }

    /**
     * Stores {@code src[off .. off+n)} as {@code n} elements of {@code dt} at {@code byteOff} in
     * {@code seg}, rounding to nearest even exactly as {@link Numerics} does (F8_E4M3 saturates).
     */
    static void store(float[] src, int off, int n, DType dt, MemorySegment seg, long byteOff) {
        switch (dt) {
            case F32 -> MemorySegment.copy(src, off, seg, F32_LE, byteOff, n);
            case BF16 -> {
                int j = 0;
                for (int bound = n - VL; j <= bound; j += VL) {
                    IntVector b = FloatVector.fromArray(F, src, off + j).reinterpretAsInts();
                    // round to nearest even on the upper 16 bits; NaN: the upper bits, quieted
                    IntVector hi = b.lanewise(VectorOperators.LSHR, 16);
                    IntVector r = b.add(hi.and(1).add(0x7FFF)).lanewise(VectorOperators.LSHR, 16)
                            .blend(hi.or(0x40), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000));
                    ((ShortVector) r.convertShape(VectorOperators.I2S, S, 0)).intoMemorySegment(seg, byteOff + 2L * j, LE);
                }
                for (; j < n; j++) {
                    seg.set(I16_LE, byteOff + 2L * j, Numerics.f32ToBf16(src[off + j]));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    seg.set(I16_LE, byteOff + 2L * j, Float.floatToFloat16(src[off + j]));
                }
            }
            case F8_E4M3 -> {
                for (int j = 0; j < n; j++) {
                    seg.set(ValueLayout.JAVA_BYTE, byteOff + j, Numerics.f32ToE4M3(src[off + j]));
                }
            }
            default -> throw new IllegalArgumentException("cannot store floats as " + dt + ": not a float dtype");
        }
    }

    /** Rounds {@code a[off .. off+n)} through {@code dt} and back in place (no-op for F32). */
    static void roundTo(DType dt, float[] a, int off, int n) {
        switch (dt) {
            case F32 -> {
            }
            case BF16 -> {
                int j = 0;
                for (int bound = n - VL; j <= bound; j += VL) {
                    IntVector b = FloatVector.fromArray(F, a, off + j).reinterpretAsInts();
                    IntVector hi = b.lanewise(VectorOperators.LSHR, 16); // as in store(BF16)
                    b.add(hi.and(1).add(0x7FFF)).lanewise(VectorOperators.LSHR, 16)
                            .blend(hi.or(0x40), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                            .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(a, off + j);
                }
                for (; j < n; j++) {
                    a[off + j] = Numerics.bf16ToF32(Numerics.f32ToBf16(a[off + j]));
                }
            }
            case F16 -> {
                for (int j = 0; j < n; j++) {
                    a[off + j] = Float.float16ToFloat(Float.floatToFloat16(a[off + j]));
                }
            }
            default -> {
                for (int j = 0; j < n; j++) {
                    a[off + j] = Numerics.roundTo(dt, a[off + j]);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Reductions in a fixed order (independent of threads and of JIT state)

    /**
     * Σ a[off+j]² for j &lt; n, in f32: four vector accumulators over blocks of 4·VL, one over the
     * remaining whole vectors, combined as ((acc0+acc1)+(acc2+acc3))+acc4, lanes summed left to
     * right, then the scalar tail in order.
     */
    static float sumSquares(float[] a, int off, int n) {
        return sumSquaredDiff(a, off, n, 0f);
    }

    /** Σ (a[off+j] − c)² for j &lt; n, in the fixed order of {@link #sumSquares}. */
    static float sumSquaredDiff(float[] a, int off, int n, float c) {
        FloatVector cv = FloatVector.broadcast(F, c);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
        int j = 0;
        for (int bound = n - 4 * VL; j <= bound; j += 4 * VL) {
            FloatVector v0 = FloatVector.fromArray(F, a, off + j).sub(cv);
            FloatVector v1 = FloatVector.fromArray(F, a, off + j + VL).sub(cv);
            FloatVector v2 = FloatVector.fromArray(F, a, off + j + 2 * VL).sub(cv);
            FloatVector v3 = FloatVector.fromArray(F, a, off + j + 3 * VL).sub(cv);
            a0 = v0.fma(v0, a0);
            a1 = v1.fma(v1, a1);
            a2 = v2.fma(v2, a2);
            a3 = v3.fma(v3, a3);
        }
        for (int bound = n - VL; j <= bound; j += VL) {
            FloatVector v = FloatVector.fromArray(F, a, off + j).sub(cv);
            a4 = v.fma(v, a4);
        }
        FloatVector acc = a0.add(a1).add(a2.add(a3)).add(a4);
        float s = 0f;
        for (int l = 0; l < VL; l++) { // lanes left to right: never reduceLanes, whose order is unspecified
            s += acc.lane(l);
        }
        for (; j < n; j++) {
            float d = a[off + j] - c;
            s += d * d;
        }
        return s;
    }

    /** Σ a[off+j] for j &lt; n, in the fixed order of {@link #sumSquares}. */
    static float sum(float[] a, int off, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
        int j = 0;
        for (int bound = n - 4 * VL; j <= bound; j += 4 * VL) {
            a0 = a0.add(FloatVector.fromArray(F, a, off + j));
            a1 = a1.add(FloatVector.fromArray(F, a, off + j + VL));
            a2 = a2.add(FloatVector.fromArray(F, a, off + j + 2 * VL));
            a3 = a3.add(FloatVector.fromArray(F, a, off + j + 3 * VL));
        }
        for (int bound = n - VL; j <= bound; j += VL) {
            a4 = a4.add(FloatVector.fromArray(F, a, off + j));
        }
        FloatVector acc = a0.add(a1).add(a2.add(a3)).add(a4);
        float s = 0f;
        for (int l = 0; l < VL; l++) { // lanes left to right: never reduceLanes, whose order is unspecified
            s += acc.lane(l);
        }
        for (; j < n; j++) {
            s += a[off + j];
        }
        return s;
    }

    // ---------------------------------------------------------------------------------------
    // Transcendentals
    //
    // Shaped for C2 (measured; breaking a rule cost 5-20x, and did so depending on JIT timing):
    // a vector passed to or returned from a call that C2 does not inline is boxed on the heap,
    // and whether C2 inlines one of our (not @ForceInline) methods depends on profile timing, on
    // the size of its own compiled code (InlineSmallCode) and on how many nodes the compilation
    // already holds (NodeCountInliningCutoff; every Vector API op adds hundreds while parsing).
    // So no hot loop here calls a vector-to-vector method of ours: each function is a sequence of
    // loops over float[] scratch rows whose bodies use the Vector API alone, and what crosses a
    // call is an array. A pass over an L1-resident scratch row costs ~0.1 ns per element.
    //
    // Every function works in place on whole vectors: a[0, len) with len a multiple of VL (lanes
    // past a row's end are padding and may hold anything); tmp is scratch of at least len.

    private static final float EXP_HI = 89f;      // exp(89) > Float.MAX_VALUE: +Inf
    private static final float EXP_LO = -104f;    // exp(-104) < half the smallest subnormal: 0
    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND_MAGIC = 0x1.8p23f; // adding it rounds |v| < 2^22 to an integer
    private static final int ROUND_MAGIC_BITS = Float.floatToRawIntBits(ROUND_MAGIC);
    private static final float LN2_HI = 0.693359375f;  // Cody-Waite split of ln 2 (Cephes)
    private static final float LN2_LO = -2.12194440e-4f;

    /**
     * a[j] = e^(sign · a[j]): Cody-Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, Cephes'
     * degree-5 minimax polynomial for e^r, then a two-step scaling by 2^n so subnormal results
     * round once and overflow gives +Inf. NaN stays NaN.
     *
     * @param sign 1 or −1 (e^−x without a separate negation pass)
     */
    static void exp(float[] a, int len, float sign) {
        for (int j = 0; j < len; j += VL) {
            FloatVector x = FloatVector.fromArray(F, a, j).mul(sign).max(EXP_LO).min(EXP_HI); // NaN propagates
            FloatVector t = x.fma(LOG2E, ROUND_MAGIC); // rint(x·log2 e) in the low mantissa bits
            FloatVector fn = t.sub(ROUND_MAGIC);
            FloatVector r = fn.fma(FloatVector.broadcast(F, -LN2_HI), x);
            r = fn.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = r.fma(1.9875691500E-4f, 1.3981999507E-3f);
            p = p.fma(r, FloatVector.broadcast(F, 8.3334519073E-3f));
            p = p.fma(r, FloatVector.broadcast(F, 4.1665795894E-2f));
            p = p.fma(r, FloatVector.broadcast(F, 1.6666665459E-1f));
            p = p.fma(r, FloatVector.broadcast(F, 5.0000001201E-1f));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            IntVector n = t.reinterpretAsInts().sub(ROUND_MAGIC_BITS); // n in [-150, 128]
            IntVector n1 = n.lanewise(VectorOperators.ASHR, 1);
            IntVector n2 = n.sub(n1);
            FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            y.mul(s1).mul(s2).intoArray(a, j);
        }
    }

    /** a[j] = e^a[j]. */
    static void exp(float[] a, int len) {
        exp(a, len, 1f);
    }

    /** a[j] = 1 / (1 + e^−a[j]). */
    static void sigmoid(float[] a, int len) {
        exp(a, len, -1f);
        for (int j = 0; j < len; j += VL) {
            FloatVector.broadcast(F, 1f).div(FloatVector.fromArray(F, a, j).add(1f)).intoArray(a, j);
        }
    }

    /** a[j] = a[j] · sigmoid(a[j]) = a[j] / (1 + e^−a[j]). */
    static void silu(float[] a, float[] tmp, int len) {
        System.arraycopy(a, 0, tmp, 0, len);
        exp(tmp, len, -1f);
        for (int j = 0; j < len; j += VL) {
            FloatVector.fromArray(F, a, j).div(FloatVector.fromArray(F, tmp, j).add(1f)).intoArray(a, j);
        }
    }

    /**
     * a[j] = tanh(a[j]) (Cephes tanhf): an odd polynomial for |x| &lt; 0.625, else
     * sign(x)·(1 − 2/(e^{2|x|} + 1)); tanh(±0) = ±0.
     */
    static void tanh(float[] a, float[] tmp, int len) {
        for (int j = 0; j < len; j += VL) {
            FloatVector ax = FloatVector.fromArray(F, a, j).abs();
            ax.add(ax).intoArray(tmp, j);
        }
        exp(tmp, len, 1f);
        for (int j = 0; j < len; j += VL) {
            FloatVector x = FloatVector.fromArray(F, a, j);
            FloatVector e = FloatVector.fromArray(F, tmp, j);
            FloatVector big = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(e.add(1f)));
            big = big.blend(big.neg(), x.compare(VectorOperators.LT, 0f));
            FloatVector z = x.mul(x);
            FloatVector p = z.fma(-5.70498872745E-3f, 2.06390887954E-2f);
            p = p.fma(z, FloatVector.broadcast(F, -5.37397155531E-2f));
            p = p.fma(z, FloatVector.broadcast(F, 1.33314422036E-1f));
            p = p.fma(z, FloatVector.broadcast(F, -3.33332819422E-1f));
            FloatVector small = p.mul(z).fma(x, x).blend(x, x.compare(VectorOperators.EQ, 0f));
            big.blend(small, x.abs().compare(VectorOperators.LT, 0.625f)).intoArray(a, j);
        }
    }

    /** a[j] = cap · tanh(a[j] / cap), the division and product in f32 as the contract writes them. */
    static void tanhSoftcap(float[] a, float[] tmp, int len, float cap) {
        for (int j = 0; j < len; j += VL) {
            FloatVector.fromArray(F, a, j).div(cap).intoArray(a, j);
        }
        tanh(a, tmp, len);
        for (int j = 0; j < len; j += VL) {
            FloatVector.fromArray(F, a, j).mul(cap).intoArray(a, j);
        }
    }

    /**
     * a[j] = log(1 + e^a[j]), or a[j] itself when &gt; 20 as torch does; computed as
     * max(x, 0) + log1p(e^−|x|), where log1p(e) for e in [0, 1] is 2·atanh(s), s = e/(2 + e) ≤ 1/3,
     * summed to s¹⁵ (truncation ≤ 2e-9 relative; no lane masks, no cancellation).
     */
    static void softplus(float[] a, float[] tmp, int len) {
        for (int j = 0; j < len; j += VL) {
            FloatVector.fromArray(F, a, j).abs().intoArray(tmp, j);
        }
        exp(tmp, len, -1f);
        for (int j = 0; j < len; j += VL) {
            FloatVector x = FloatVector.fromArray(F, a, j);
            FloatVector e = FloatVector.fromArray(F, tmp, j);
            FloatVector s = e.div(e.add(2f));
            FloatVector s2 = s.mul(s);
            FloatVector p = s2.fma(2f / 15, 2f / 13);
            p = p.fma(s2, FloatVector.broadcast(F, 2f / 11));
            p = p.fma(s2, FloatVector.broadcast(F, 2f / 9));
            p = p.fma(s2, FloatVector.broadcast(F, 2f / 7));
            p = p.fma(s2, FloatVector.broadcast(F, 2f / 5));
            p = p.fma(s2, FloatVector.broadcast(F, 2f / 3));
            FloatVector log1p = p.mul(s2).fma(s, s.add(s)); // 2s + s³·(2/3 + 2s²/5 + ...)
            x.max(0f).add(log1p).blend(x, x.compare(VectorOperators.GT, 20f)).intoArray(a, j);
        }
    }

    private static final float SQRT_2_OVER_PI = 0.7978845608028654f;
    private static final float GELU_TANH_C = 0.044715f;

    /**
     * a[j] = the tanh-approximated GELU 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), evaluated
     * as the identical x / (1 + e^{−2u}), which has no cancellation for negative x.
     */
    static void geluTanh(float[] a, float[] tmp, int len) {
        for (int j = 0; j < len; j += VL) {
            FloatVector x = FloatVector.fromArray(F, a, j);
            x.mul(x).fma(-2 * SQRT_2_OVER_PI * GELU_TANH_C, -2 * SQRT_2_OVER_PI).mul(x).intoArray(tmp, j); // −2u
        }
        exp(tmp, len, 1f);
        for (int j = 0; j < len; j += VL) {
            FloatVector.fromArray(F, a, j).div(FloatVector.fromArray(F, tmp, j).add(1f)).intoArray(a, j);
        }
    }

    /**
     * a[j] = the exact GELU 0.5·x·(1 + erf(x/√2)) in f64 lanes (the fit of {@link #erf(double)},
     * lane by lane the same operations), rounded once to f32; half a float vector at a time,
     * widened to one double vector.
     */
    static void geluErf(float[] a, int len) {
        erfLanes(a, len, true);
    }

    /** a[j] = erf(a[j]): the fit of {@link #erf(double)} in f64 lanes, rounded to f32. */
    static void erf(float[] a, int len) {
        erfLanes(a, len, false);
    }

    private static void erfLanes(float[] a, int len, boolean gelu) {
        for (int j = 0; j < len; j += VL / 2) {
            DoubleVector v = (DoubleVector) FloatVector.fromArray(FH, a, j).convertShape(VectorOperators.F2D, D, 0);
            DoubleVector x = gelu ? v.mul(INV_SQRT2) : v;
            DoubleVector c = x.max(-ERF_CLAMP).min(ERF_CLAMP);
            DoubleVector t = c.mul(c);
            DoubleVector p = t.fma(P6, P5);
            p = p.fma(t, DoubleVector.broadcast(D, P4));
            p = p.fma(t, DoubleVector.broadcast(D, P3));
            p = p.fma(t, DoubleVector.broadcast(D, P2));
            p = p.fma(t, DoubleVector.broadcast(D, P1));
            p = p.fma(t, DoubleVector.broadcast(D, P0));
            DoubleVector q = t.fma(Q5, Q4);
            q = q.fma(t, DoubleVector.broadcast(D, Q3));
            q = q.fma(t, DoubleVector.broadcast(D, Q2));
            q = q.fma(t, DoubleVector.broadcast(D, Q1));
            q = q.fma(t, DoubleVector.broadcast(D, 1.0));
            DoubleVector r = c.mul(p).div(q).max(-1.0).min(1.0);
            DoubleVector one = DoubleVector.broadcast(D, 1.0).blend(-1.0, x.compare(VectorOperators.LT, 0.0));
            r = r.blend(one, x.abs().compare(VectorOperators.GE, ERF_CLAMP)); // NaN compares false: stays NaN
            DoubleVector out = gelu ? v.mul(0.5).mul(r.add(1.0)) : r;
            ((FloatVector) out.convertShape(VectorOperators.D2F, FH, 0)).intoArray(a, j);
        }
    }

    private static final double INV_SQRT2 = 0.7071067811865476;
    /** erf(x) = ±1 to within 1.1e-9 beyond this: returned exactly, so GELU(−∞) is NaN and GELU(−10) is −0 as with torch. */
    private static final double ERF_CLAMP = 4.3;
    // erf(x) ≈ x·P(x²)/Q(x²) on [0, 4.3]: a (6,5) rational least-max fit, |error| ≤ 4.5e-9
    private static final double P0 = 1.1283791530053335, P1 = 0.1847693375066928, P2 = 0.05440255112805317,
            P3 = 0.0038510546522220832, P4 = 0.00038561005026218763, P5 = 4.852576800055269e-06,
            P6 = -1.403045743475495e-08;
    private static final double Q1 = 0.49708091215796024, Q2 = 0.11390609611722874, Q3 = 0.01548468816613545,
            Q4 = 0.0013160414231256031, Q5 = 6.470966046201801e-05;

    /** The exact GELU 0.5·x·(1 + erf(x/√2)) in f64 with {@link #erf(double)}: the scalar twin of {@link #geluErf(float[], int)}. */
    static double geluErf(double x) {
        return x * 0.5 * (erf(x * INV_SQRT2) + 1.0);
    }

    /**
     * erf(x) in f64 with absolute error ≤ 5e-9 (the fit's 4.5e-9; exactly ±1 from |x| = 4.3 on):
     * the scalar twin of {@link #erf(float[], int)}, used by the scalar forms of the GELU kernels.
     */
    static double erf(double x) {
        if (Math.abs(x) >= ERF_CLAMP) {
            return x < 0 ? -1.0 : 1.0;
        }
        double c = Math.min(Math.max(x, -ERF_CLAMP), ERF_CLAMP);
        double t = c * c;
        double p = Math.fma(t, P6, P5);
        p = Math.fma(p, t, P4);
        p = Math.fma(p, t, P3);
        p = Math.fma(p, t, P2);
        p = Math.fma(p, t, P1);
        p = Math.fma(p, t, P0);
        double q = Math.fma(t, Q5, Q4);
        q = Math.fma(q, t, Q3);
        q = Math.fma(q, t, Q2);
        q = Math.fma(q, t, Q1);
        q = Math.fma(q, t, 1.0);
        return Math.min(Math.max(c * p / q, -1.0), 1.0);
    }
}
