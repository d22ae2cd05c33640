package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/** Accuracy of the Vector API transcendentals and exactness of the row converters. */
class VectorMathTest {
    private static final int VL = VectorMath.VL;

    /** An independent erf: e^{-x²}·2/√π·Σ 2ⁿx^{2n+1}/(1·3···(2n+1)), all terms positive (no cancellation). */
    static double erfSeries(double x) {
        double ax = Math.abs(x);
        if (ax > 6) {
            return Math.signum(x);
        }
        double term = ax, sum = ax;
        for (int n = 1; n < 400 && term > 1e-18 * sum; n++) {
            term *= 2 * ax * ax / (2 * n + 1);
            sum += term;
        }
        return Math.copySign(Math.min(1, 2 / Math.sqrt(Math.PI) * Math.exp(-ax * ax) * sum), x);
    }

    /** An in-place array-level function of VectorMath, applied to whole vectors of a[0, len). */
    @FunctionalInterface
    interface ArrayFn {
        void apply(float[] a, int len);
    }

    /** Max error in f32 ulps of the reference, over {@code xs} (a multiple of VL long). */
    private static double maxUlps(float[] xs, ArrayFn f, DoubleUnaryOperator ref) {
        double worst = 0;
        float[] out = xs.clone();
        f.apply(out, out.length);
        for (int i = 0; i < xs.length; i++) {
            float r = (float) ref.applyAsDouble(xs[i]);
            if (Float.isNaN(r) || Float.isInfinite(r) || Float.isNaN(out[i]) || Float.isInfinite(out[i])) {
                assertEquals(r, out[i], 0f, "special value at x=" + xs[i]);
                continue;
            }
            worst = Math.max(worst, Math.abs((double) out[i] - r) / Math.ulp(r));
        }
        return worst;
    }

    private static float[] grid(float lo, float hi, int n) {
        float[] xs = new float[(n + VL - 1) / VL * VL];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = lo + (hi - lo) * i / (xs.length - 1);
        }
        return xs;
    }

    @Test
    void expWithin2UlpIncludingSubnormalsAndOverflow() {
        double u = maxUlps(grid(-104f, 89f, 40_000), (a, n) -> VectorMath.exp(a, n), Math::exp);
        assertTrue(u <= 2, "exp: " + u + " ulp");
        float[] special = new float[Math.max(16, VL)];
        float[] vals = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 88.72f, 88.73f, -87.5f,
                -103f, -200f, 1e-8f, -1e-8f};
        System.arraycopy(vals, 0, special, 0, vals.length);
        assertTrue(maxUlps(special, (a, n) -> VectorMath.exp(a, n), Math::exp) <= 2);
    }

    @Test
    void tanhSigmoidSiluWithinFewUlp() {
        float[] xs = grid(-30f, 30f, 30_000);
        double t = maxUlps(xs, (a, n) -> VectorMath.tanh(a, new float[n], n), Math::tanh);
        double s = maxUlps(xs, VectorMath::sigmoid, x -> 1 / (1 + Math.exp(-x)));
        double si = maxUlps(xs, (a, n) -> VectorMath.silu(a, new float[n], n), x -> x / (1 + Math.exp(-x)));
        float[] small = grid(-1f, 1f, 20_000);
        double ts = maxUlps(small, (a, n) -> VectorMath.tanh(a, new float[n], n), Math::tanh);
        System.out.printf("tanh %.2f (small %.2f), sigmoid %.2f, silu %.2f ulp%n", t, ts, s, si);
        assertTrue(t <= 3 && ts <= 3, "tanh: " + t + " / " + ts + " ulp");
        assertTrue(s <= 3, "sigmoid: " + s + " ulp");
        assertTrue(si <= 4, "silu: " + si + " ulp");
    }

    @Test
    void softplusAndGeluTanhWithinFewUlp() {
        float[] xs = grid(-40f, 40f, 30_000);
        double sp = maxUlps(xs, (a, n) -> VectorMath.softplus(a, new float[n], n), x -> x > 20 ? x : Math.log1p(Math.exp(x)));
        System.out.printf("softplus %.2f ulp%n", sp);
        DoubleUnaryOperator geluTanh = x -> x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
        // 0.5x(1 + tanh u) written as x/(1 + e^{-2u}); the f64 tanh form would lose all relative
        // precision for x < -5 (1 + tanh u cancels), the SIMD form does not
        double gt = maxUlps(grid(-3f, 30f, 30_000), (a, n) -> VectorMath.geluTanh(a, new float[n], n), geluTanh);
        // below -3 the f32 rounding of u (relative 6e-8) is amplified by |2u| in e^{-2u}: relative
        // error grows to ~1e-5 where the value is ~1e-28, far below any absolute tolerance
        float[] tail = grid(-10f, -3f, 10_000);
        float[] out = tail.clone();
        VectorMath.geluTanh(out, new float[out.length], out.length);
        for (int i = 0; i < tail.length; i++) {
            double r = geluTanh.applyAsDouble(tail[i]);
            assertEquals(r, out[i], 2e-5 * Math.abs(r), "gelu_tanh tail x=" + tail[i]);
        }
        System.out.printf("gelu_tanh %.2f ulp on [-3, 30]%n", gt);
        assertTrue(gt <= 12, "gelu_tanh: " + gt + " ulp");
    }

    @Test
    void erfFitWithin5e9OfTheSeries() {
        double worst = 0;
        for (int i = -60_000; i <= 60_000; i++) {
            double x = i * 1e-4 + 1e-5 * (i % 7);
            worst = Math.max(worst, Math.abs(VectorMath.erf(x) - erfSeries(x)));
        }
        System.out.printf("erf fit: max abs error %.3g%n", worst);
        assertTrue(worst <= 5e-9, "erf: " + worst);
        assertEquals(1.0, VectorMath.erf(Double.POSITIVE_INFINITY));
        assertEquals(-1.0, VectorMath.erf(-50));
        assertEquals(-1.0, VectorMath.erf(-4.3));
        assertTrue(Double.isNaN(VectorMath.erf(Double.NaN)));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(VectorMath.erf(-0.0)));
    }

    @Test
    void vectorErfAndGeluErfMatchTheScalarFitBitForBit() {
        float[] xs = grid(-8f, 8f, 20_000);
        float[] e = xs.clone();
        float[] g = xs.clone();
        VectorMath.erf(e, e.length);
        VectorMath.geluErf(g, g.length);
        for (int i = 0; i < xs.length; i++) {
            assertEquals((float) VectorMath.erf((double) xs[i]), e[i], 0f, "erf x=" + xs[i]);
            assertEquals((float) VectorMath.geluErf((double) xs[i]), g[i], 0f, "gelu x=" + xs[i]);
        }
    }

    @Test
    void softcapAndReluEdgeCases() {
        float[] x = new float[VectorMath.padded(6)];
        float[] v = {0f, -0f, 300f, -300f, 30f, Float.NaN};
        System.arraycopy(v, 0, x, 0, v.length);
        VectorMath.tanhSoftcap(x, new float[x.length], x.length, 30f);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(x[1]), "-0 keeps its sign");
        assertEquals(30f, x[2], 1e-5f);
        assertEquals(-30f, x[3], 1e-5f);
        assertEquals(30 * Math.tanh(1), x[4], 3e-6);
        assertTrue(Float.isNaN(x[5]));
    }

    @Test
    void bf16AndF16ConvertersAreExactForEveryPattern() {
        int n = 1 << 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * n + 2);
            for (int i = 0; i < n; i++) {
                seg.set(VectorMath.I16_LE, 2L + 2L * i, (short) i); // odd offset 2: unaligned start
            }
            for (DType dt : new DType[] {DType.BF16, DType.F16}) {
                float[] f = new float[n];
                VectorMath.load(seg, 2, dt, f, 0, n);
                for (int i = 0; i < n; i++) {
                    float want = dt == DType.BF16 ? Numerics.bf16ToF32((short) i) : Numerics.f16ToF32((short) i);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(f[i]), dt + " load " + i);
                }
            }
            // stores: random f32 bit patterns (incl. NaN, Inf, subnormals, ties), n not a multiple of VL
            SplittableRandom rnd = new SplittableRandom(7);
            int m = 30_011;
            float[] src = new float[m];
            for (int i = 0; i < m; i++) {
                int bits = rnd.nextInt();
                if (i % 5 == 0) {
                    bits &= 0xFFFF8000 | (rnd.nextBoolean() ? 0 : 0x7FFF); // ties and near-ties
                }
                src[i] = Float.intBitsToFloat(bits);
            }
            src[0] = Float.NaN;
            src[1] = Float.intBitsToFloat(0x7F800001); // signalling NaN
            MemorySegment out = arena.allocate(2L * m + 1);
            for (DType dt : new DType[] {DType.BF16, DType.F16}) {
                VectorMath.store(src, 0, m, dt, out, 1);
                float[] rounded = src.clone();
                VectorMath.roundTo(dt, rounded, 0, m);
                for (int i = 0; i < m; i++) {
                    short want = dt == DType.BF16 ? Numerics.f32ToBf16(src[i]) : Numerics.f32ToF16(src[i]);
                    assertEquals(want, out.get(VectorMath.I16_LE, 1 + 2L * i), dt + " store of " + src[i]);
                    float back = dt == DType.BF16 ? Numerics.bf16ToF32(want) : Numerics.f16ToF32(want);
                    assertEquals(Float.floatToRawIntBits(back), Float.floatToRawIntBits(rounded[i]), dt + " round " + i);
                }
            }
        }
    }

    @Test
    void reductionsMatchF64WithinF32Rounding() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int n : new int[] {0, 1, VL - 1, VL, 4 * VL + 3, 769, 4096}) {
            float[] a = new float[n + 5];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextDouble(-3, 3);
            }
            double s = 0, sq = 0, sd = 0;
            for (int i = 2; i < n + 2; i++) {
                s += a[i];
                sq += (double) a[i] * a[i];
                sd += (a[i] - 0.5) * (a[i] - 0.5);
            }
            assertEquals(sq, VectorMath.sumSquares(a, 2, n), 1e-6 * (sq + 1), "sumSquares n=" + n);
            assertEquals(s, VectorMath.sum(a, 2, n), 1e-6 * (Math.abs(s) + n), "sum n=" + n);
            assertEquals(sd, VectorMath.sumSquaredDiff(a, 2, n, 0.5f), 1e-6 * (sd + 1), "sumSquaredDiff n=" + n);
        }
    }
}
