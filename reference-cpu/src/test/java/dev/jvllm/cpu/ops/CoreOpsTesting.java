package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;

/**
 * Test helpers for the data, elementwise, norm and rotary kernel tests: the scalar and SIMD
 * backends, strided views, random data and element-wise comparisons.
 */
final class CoreOpsTesting {
    private CoreOpsTesting() {
    }

    /** The scalar form (the executable specification), one thread. */
    static final CpuBackend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true").withThreads(1));
    /** The SIMD form with the default thread count. */
    static final CpuBackend SIMD = CpuBackend.create();

    static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};

    /** The SIMD form on {@code threads} threads. */
    static CpuBackend simd(int threads) {
        return CpuBackend.create(BackendOptions.defaults().withThreads(threads));
    }

    static float[] random(long seed, int n, double lo, double hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    /** {@code values} rounded to dtype, as the tensor will hold them. */
    static float[] rounded(DType dt, float[] values) {
        float[] r = new float[values.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = Numerics.roundTo(dt, values[i]);
        }
        return r;
    }

    /**
     * A [rows, cols] view of {@code values}: columns [lead, lead + cols) of a
     * [rows, lead + cols + trail] allocation, so rows are strided and not vector-aligned. The
     * surrounding columns hold {@code fill}.
     */
    static Tensor strided(Backend b, DType dt, float[] values, int rows, int cols, int lead, int trail, float fill) {
        int wide = lead + cols + trail;
        float[] all = new float[rows * wide];
        java.util.Arrays.fill(all, fill);
        for (int r = 0; r < rows; r++) {
            System.arraycopy(values, r * cols, all, r * wide + lead, cols);
        }
        return Tensors.fromFloats(b, dt, all, rows, wide).narrowLast(lead, cols);
    }

    /** The parent allocation of a view made by {@link #strided}: read it to check the untouched columns. */
    static Tensor parentOf(Tensor view) {
        var l = view.layout();
        int rows = (int) view.rows();
        int wide = (int) l.rowStride();
        return view.view(dev.jvllm.api.TensorLayout.contiguous(view.dtype(), rows, wide));
    }

    /** |actual − expected| ≤ atol + rtol·|expected| element by element, NaN where NaN. */
    static void assertClose(float[] expected, float[] actual, double atol, double rtol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) || Float.isNaN(a) || Float.isInfinite(e)) {
                if (Float.compare(e, a) != 0 && !(Float.isNaN(e) && Float.isNaN(a))) {
                    fail(what + ": element " + i + " expected " + e + ", got " + a);
                }
                continue;
            }
            if (Math.abs((double) a - e) > atol + rtol * Math.abs(e)) {
                fail(what + ": element " + i + " expected " + e + ", got " + a + " (|diff| "
                        + Math.abs((double) a - e) + " > " + atol + " + " + rtol + "·|e|)");
            }
        }
    }

    /** Σ(actual − expected)² / Σexpected² ≤ max: catches a systematic error that per-element bounds allow. */
    static void assertNmse(float[] expected, float[] actual, double max, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        double nmse = den == 0 ? num : num / den;
        if (nmse > max) {
            fail(what + ": NMSE " + nmse + " > " + max);
        }
    }

    /** The NMSE the conformance suite allows a norm whose coarsest rounding is to {@code dt}. */
    static double normNmse(DType dt) {
        return switch (dt) {
            case BF16 -> 1e-7;
            case F16 -> 5e-9;
            default -> 1e-10;
        };
    }

    /** Same bits (floats compared by their raw bits). */
    static void assertSameBits(Tensor expected, Tensor actual, String what) {
        byte[] e = Tensors.toBytes(expected);
        byte[] a = Tensors.toBytes(actual);
        assertEquals(e.length, a.length, what + ": byte length");
        for (int i = 0; i < e.length; i++) {
            if (e[i] != a[i]) {
                int es = expected.dtype().byteSize();
                String detail = expected.dtype().isFloat()
                        ? " (" + Tensors.toFloats(expected)[i / es] + " vs " + Tensors.toFloats(actual)[i / es] + ")"
                        : "";
                fail(what + ": element " + i / es + " differs" + detail);
            }
        }
    }

    /** One unit in the last place of dtype at |v| (relative bound for tolerance maths). */
    static double relUlp(DType dt) {
        return switch (dt) {
            case F32 -> 0x1p-23;
            case BF16 -> 0x1p-7;
            case F16 -> 0x1p-10;
            default -> throw new IllegalArgumentException(dt.toString());
        };
    }
}
