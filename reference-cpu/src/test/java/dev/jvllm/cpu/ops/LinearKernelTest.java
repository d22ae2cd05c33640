package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The linear kernel: (1) the scalar form against hand-checked values and an independent
 * double-precision computation that decodes every weight format itself; (2) the SIMD form against
 * the scalar form for every format and dtype mix; (3) the SIMD building blocks bit for bit
 * (dequantized rows vs the per-element specification, the reduction network vs the scalar tree);
 * (4) bit-identical results for 1, 2 and 7 threads and for a row alone vs inside a batch.
 */
class LinearKernelTest {
    static final CpuBackend SCALAR = CpuBackend.create(BackendOptions.defaults().with("scalar", "true").withThreads(1));
    static final CpuBackend SIMD = CpuBackend.create(BackendOptions.defaults().withThreads(2));
    static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F16};

    // ------------------------------------------------------------------ weights built from raw data

    /** The weight formats under test. */
    enum Format {
        DENSE_F32, DENSE_BF16, DENSE_F16, FP8_TENSOR, FP8_CHANNEL, FP8_BLOCK, FP8_DYNAMIC, FP8_STATIC, INT4_SYM,
        INT4_ZP, INT4_ACTORDER, INT8;

        boolean int4() {
            return this == INT4_SYM || this == INT4_ZP || this == INT4_ACTORDER;
        }
    }

    /**
     * Raw weight data, independent of any backend: the same numbers build the tensors on every
     * backend and feed the test's own f64 decoding ({@link #w}).
     */
    static final class RawWeight {
        final Format f;
        final int n;
        final int k;
        float[] dense; // DENSE_*: values (rounded to the dtype by the tensor)
        byte[] bytes; // FP8_*: e4m3 codes, INT8: values
        int[] words; // INT4: qweight [N, K/8]
        float[] scale; // FP8: [1] / [N] / [ceil(N/bn) * ceil(K/bk)]; INT4: [N, G]; INT8: [N]
        DType scaleType = DType.F32;
        byte[] zeros; // INT4_ZP / ACTORDER: [N, G]
        int[] gIdx; // INT4_ACTORDER: [K]
        int groups;
        int groupSize;
        int blockN;
        int blockK;
        float inputScale; // FP8_STATIC

        RawWeight(Format f, int n, int k) {
            this.f = f;
            this.n = n;
            this.k = k;
        }

        static RawWeight random(Format f, int n, int k, long seed) {
            return random(f, n, k, seed, 0);
        }

        /** group &gt; 0: int4 groupSize and fp8 blockK = group instead of random ones. */
        static RawWeight random(Format f, int n, int k, long seed, int group) {
            SplittableRandom r = new SplittableRandom(seed);
            RawWeight w = new RawWeight(f, n, k);
            switch (f) {
                case DENSE_F32, DENSE_BF16, DENSE_F16 -> w.dense = uniform(r, n * k, -1, 1);
                case FP8_TENSOR, FP8_CHANNEL, FP8_BLOCK, FP8_DYNAMIC, FP8_STATIC -> {
                    w.bytes = new byte[n * k];
                    for (int i = 0; i < w.bytes.length; i++) {
                        int b = r.nextInt(256);
                        w.bytes[i] = (byte) ((b & 0x7F) == 0x7F ? b & 0xFE : b); // no NaN codes in random weights
                    }
                    if (f == Format.FP8_BLOCK) {
                        w.blockN = 1 + r.nextInt(5);
                        w.blockK = 1 + r.nextInt(40);
                        w.blockK = group > 0 ? group : w.blockK;
                        w.scale = uniform(r, ceil(n, w.blockN) * ceil(k, w.blockK), 0.001, 0.01);
                    } else {
                        w.scale = uniform(r, f == Format.FP8_CHANNEL || f == Format.FP8_DYNAMIC ? n : 1, 0.001, 0.01);
                    }
                    w.inputScale = 0.02f;
                }
                case INT4_SYM, INT4_ZP, INT4_ACTORDER -> {
                    w.words = new int[n * k / 8];
                    for (int i = 0; i < w.words.length; i++) {
                        w.words[i] = r.nextInt();
                    }
                    w.groupSize = new int[] {8, 16, 32, 128}[r.nextInt(4)];
                    w.groupSize = group > 0 ? group : w.groupSize;
                    w.groups = ceil(k, w.groupSize);
                    w.scale = uniform(r, n * w.groups, 0.01, 0.1);
                    w.scaleType = FLOATS[r.nextInt(3)];
                    if (f != Format.INT4_SYM) {
                        w.zeros = new byte[n * w.groups];
                        for (int i = 0; i < w.zeros.length; i++) {
                            w.zeros[i] = (byte) r.nextInt(16);
                        }
                    }
                    if (f == Format.INT4_ACTORDER) { // g_idx of a random column permutation
                        int[] perm = permutation(r, k);
                        w.gIdx = new int[k];
                        for (int c = 0; c < k; c++) {
                            w.gIdx[c] = perm[c] / w.groupSize;
                        }
                    }
                }
                case INT8 -> {
                    w.bytes = new byte[n * k];
                    for (int i = 0; i < w.bytes.length; i++) {
                        w.bytes[i] = (byte) r.nextInt(256);
                    }
                    w.scale = uniform(r, n, 0.001, 0.01);
                }
            }
            return w;
        }

        LinearWeight build(Backend b) {
            return switch (f) {
                case DENSE_F32 -> new LinearWeight.Dense(Tensors.fromFloats(b, DType.F32, dense, n, k));
                case DENSE_BF16 -> new LinearWeight.Dense(Tensors.fromFloats(b, DType.BF16, dense, n, k));
                case DENSE_F16 -> new LinearWeight.Dense(Tensors.fromFloats(b, DType.F16, dense, n, k));
                case FP8_TENSOR, FP8_CHANNEL, FP8_BLOCK, FP8_DYNAMIC, FP8_STATIC -> {
                    Tensor q = Tensors.fromBytes(b, DType.F8_E4M3, bytes, n, k);
                    Tensor s = f == Format.FP8_BLOCK
                            ? Tensors.fromFloats(b, DType.F32, scale, ceil(n, blockN), ceil(k, blockK))
                            : Tensors.fromFloats(b, DType.F32, scale, scale.length);
                    Tensor in = f == Format.FP8_STATIC ? Tensors.fromFloats(b, DType.F32, new float[] {inputScale}, 1) : null;
                    yield new LinearWeight.Fp8(q, s, f == Format.FP8_BLOCK ? blockN : 0, f == Format.FP8_BLOCK ? blockK : 0,
                            in, f == Format.FP8_DYNAMIC);
                }
                case INT4_SYM, INT4_ZP, INT4_ACTORDER -> new LinearWeight.Int4(Tensors.fromInts(b, words, n, k / 8),
                        Tensors.fromFloats(b, scaleType, scale, n, groups),
                        zeros == null ? null : Tensors.fromBytes(b, DType.U8, zeros, n, groups),
                        gIdx == null ? null : Tensors.fromInts(b, gIdx, k), groupSize);
                case INT8 -> new LinearWeight.Int8(Tensors.fromBytes(b, DType.I8, bytes, n, k),
                        Tensors.fromFloats(b, DType.F32, scale, n));
            };
        }

        /** W[row, col] decoded by the test itself, in f64 (the f32 products of the contract are exact here). */
        double w(int row, int col) {
            int i = row * k + col;
            return switch (f) {
                case DENSE_F32 -> dense[i];
                case DENSE_BF16 -> Numerics.roundTo(DType.BF16, dense[i]);
                case DENSE_F16 -> Numerics.roundTo(DType.F16, dense[i]);
                case FP8_TENSOR, FP8_STATIC -> e4m3(bytes[i]) * scale[0];
                case FP8_CHANNEL, FP8_DYNAMIC -> e4m3(bytes[i]) * scale[row];
                case FP8_BLOCK -> e4m3(bytes[i]) * scale[(row / blockN) * ceil(k, blockK) + col / blockK];
                case INT4_SYM, INT4_ZP, INT4_ACTORDER -> {
                    int q = (words[row * (k / 8) + col / 8] >>> (4 * (col % 8))) & 0xF;
                    int g = gIdx == null ? col / groupSize : gIdx[col];
                    int z = zeros == null ? 8 : zeros[row * groups + g] & 0xFF;
                    yield (q - z) * (double) Numerics.roundTo(scaleType, scale[row * groups + g]);
                }
                case INT8 -> bytes[i] * (double) scale[row];
            };
        }
    }

    /** e4m3fn decoded from its bit fields, independently of Numerics: 1.4.3, bias 7, no infinities. */
    static double e4m3(byte bits) {
        int b = bits & 0xFF;
        int e = (b >>> 3) & 0xF;
        int m = b & 7;
        if (e == 15 && m == 7) {
            return Double.NaN;
        }
        double v = e == 0 ? m / 8.0 * Math.pow(2, -6) : (1 + m / 8.0) * Math.pow(2, e - 7);
        return (b & 0x80) != 0 ? -v : v;
    }

    // ------------------------------------------------------------------ one linear call

    /** x' as the contract defines it: x in f32, quantized through e4m3 for fp8 activation modes. */
    static float[] activations(RawWeight w, float[] x, int t, int k) {
        float[] q = x.clone();
        if (w.f != Format.FP8_DYNAMIC && w.f != Format.FP8_STATIC) {
            return q;
        }
        for (int r = 0; r < t; r++) {
            float a = w.inputScale;
            if (w.f == Format.FP8_DYNAMIC) {
                float amax = 0;
                for (int c = 0; c < k; c++) {
                    amax = Math.max(amax, Math.abs(x[r * k + c]));
                }
                a = amax / 448f;
            }
            for (int c = 0; c < k; c++) {
                q[r * k + c] = a == 0 ? 0 : Numerics.e4m3ToF32(Numerics.f32ToE4M3(x[r * k + c] / a)) * a;
            }
        }
        return q;
    }

    /** A linear case: raw inputs plus dtypes and layout, buildable on any backend. */
    record Case(RawWeight w, int t, float[] x, DType xType, float[] bias, DType biasType, DType outType, boolean strided) {
        static Case random(Format f, int t, int k, int n, DType xType, DType outType, boolean bias, boolean strided, long seed) {
            SplittableRandom r = new SplittableRandom(seed * 31 + 7);
            RawWeight w = RawWeight.random(f, n, k, seed);
            float[] x = new float[t * k];
            for (int i = 0; i < x.length; i++) {
                x[i] = Numerics.roundTo(xType, (float) (r.nextDouble() * 2 - 1));
            }
            float[] b = bias ? uniform(r, n, -1, 1) : null;
            DType bt = bias ? FLOATS[r.nextInt(3)] : null;
            if (b != null) {
                for (int i = 0; i < n; i++) {
                    b[i] = Numerics.roundTo(bt, b[i]);
                }
            }
            return new Case(w, t, x, xType, b, bt, outType, strided);
        }

        int k() {
            return w.k;
        }

        int n() {
            return w.n;
        }

        /** Runs the op on b and returns out as f32 values. */
        float[] run(Backend b) {
            return Tensors.toFloats(runTensor(b));
        }

        Tensor runTensor(Backend b) {
            int k = k(), n = n();
            Tensor xt = strided ? Tensors.fromFloats(b, xType, widen(x, t, k, 3), t, k + 5).narrowLast(3, k)
                    : Tensors.fromFloats(b, xType, x, t, k);
            Tensor bt = bias == null ? null : Tensors.fromFloats(b, biasType, bias, n);
            Tensor out = strided ? b.allocate(outType, t, n + 2).narrowLast(1, n) : b.allocate(outType, t, n);
            Linear a = new Linear(xt, w.build(b), bt, out);
            assertTrue(b.supports(a), "supports " + this);
            b.linear(a);
            return out;
        }

        /** The independent f64 result (before the output rounding) and a bound on f32 summation error. */
        double[][] naive() {
            int k = k(), n = n();
            float[] xq = activations(w, x, t, k);
            double[] ref = new double[t * n];
            double[] bound = new double[t * n];
            for (int j = 0; j < n; j++) {
                double[] wr = new double[k];
                for (int c = 0; c < k; c++) {
                    wr[c] = w.w(j, c);
                }
                for (int r = 0; r < t; r++) {
                    double s = 0, mag = 0;
                    for (int c = 0; c < k; c++) {
                        s += xq[r * k + c] * wr[c];
                        mag += Math.abs(xq[r * k + c] * wr[c]);
                    }
                    double b = bias == null ? 0 : bias[j];
                    ref[r * n + j] = s + b;
                    // f32 dot product: K+1 additions, K products and K weight products (dequantization)
                    // each within 2^-24 relative of the magnitudes involved
                    bound[r * n + j] = (3.0 * k + 2) * 0x1.0p-24 * (mag + Math.abs(b)) + 1e-30;
                }
            }
            return new double[][] {ref, bound};
        }

        @Override
        public String toString() {
            return w.f + "[T=" + t + ",K=" + k() + ",N=" + n() + ",x=" + xType + ",out=" + outType
                    + (bias != null ? ",bias=" + biasType : "") + (strided ? ",strided" : "") + "]";
        }
    }

    static float[] widen(float[] v, int rows, int cols, int lead) {
        int wide = cols + 5;
        float[] all = new float[rows * wide];
        Arrays.fill(all, Float.NaN); // a kernel that reads outside the view turns its row into NaN
        for (int r = 0; r < rows; r++) {
            System.arraycopy(v, r * cols, all, r * wide + lead, cols);
        }
        return all;
    }

    // ------------------------------------------------------------------ (1) the scalar form

    @Test
    void handCheckedDenseWithBias() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor w = Tensors.fromFloats(b, DType.F32, new float[] {1, 0, -1, 0.5f, 0.25f, 2}, 2, 3);
            Tensor bias = Tensors.fromFloats(b, DType.BF16, new float[] {1, -1}, 2);
            Tensor out = b.allocate(DType.F32, 2, 2);
            b.linear(new Linear(x, new LinearWeight.Dense(w), bias, out));
            // row 0: 1-3+1, 0.5+0.5+6-1; row 1: 4-6+1, 2+1.25+12-1
            assertArrayEquals(new float[] {-1, 6, -1, 14.25f}, Tensors.toFloats(out), 0f, b.description());
        }
    }

    @Test
    void theOutputIsRoundedOnceFromF32() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            // 1 + 3·2^-9 rounds to bf16 1 + 2^-7; rounding after every term would give 1
            Tensor x = Tensors.fromFloats(b, DType.BF16, new float[] {1, 0x1p-9f, 0x1p-9f, 0x1p-9f}, 1, 4);
            Tensor w = Tensors.fromFloats(b, DType.BF16, new float[] {1, 1, 1, 1}, 1, 4);
            Tensor out = b.allocate(DType.BF16, 1, 1);
            b.linear(new Linear(x, new LinearWeight.Dense(w), null, out));
            assertEquals(1 + 0x1p-7f, Tensors.toFloats(out)[0], b.description());
            // ties go to even: 1 + 2^-8 → 1, 1 + 3·2^-8 → 1 + 2^-6 (f32 weights hold them exactly)
            Tensor one = Tensors.fromFloats(b, DType.F32, new float[] {1}, 1, 1);
            Tensor w2 = Tensors.fromFloats(b, DType.F32, new float[] {1 + 0x1p-8f, 1 + 3 * 0x1p-8f}, 2, 1);
            Tensor out2 = b.allocate(DType.BF16, 1, 2);
            b.linear(new Linear(one, new LinearWeight.Dense(w2), null, out2));
            assertArrayEquals(new float[] {1, 1 + 0x1p-6f}, Tensors.toFloats(out2), 0f, b.description());
            // f16 output overflows to infinity past 65504
            Tensor big = Tensors.fromFloats(b, DType.F32, new float[] {70000}, 1, 1);
            Tensor out3 = b.allocate(DType.F16, 1, 1);
            b.linear(new Linear(big, new LinearWeight.Dense(one), null, out3));
            assertEquals(Float.POSITIVE_INFINITY, Tensors.toFloats(out3)[0], b.description());
        }
    }

    @Test
    void handCheckedFp8Scales() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            // codes: 0x38 = 1, 0x40 = 2, 0xB8 = -1, 0x01 = 2^-9 (smallest subnormal), 0x7E = 448, 0x00 = 0
            byte[] codes = {0x38, 0x40, (byte) 0xB8, 0x01, 0x7E, 0x00};
            Tensor q = Tensors.fromBytes(b, DType.F8_E4M3, codes, 2, 3);
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {1, 1, 1}, 1, 3);
            Tensor out = b.allocate(DType.F32, 1, 2);
            // per tensor: s = 0.5
            b.linear(new Linear(x, new LinearWeight.Fp8(q, Tensors.fromFloats(b, DType.F32, new float[] {0.5f}, 1), 0, 0,
                    null, false), null, out));
            assertArrayEquals(new float[] {(1 + 2 - 1) * 0.5f, (0x1p-9f + 448) * 0.5f}, Tensors.toFloats(out), 0f);
            // per channel: s = [2, 0.25]
            b.linear(new Linear(x, new LinearWeight.Fp8(q, Tensors.fromFloats(b, DType.F32, new float[] {2, 0.25f}, 2), 0, 0,
                    null, false), null, out));
            assertArrayEquals(new float[] {4, (0x1p-9f + 448) * 0.25f}, Tensors.toFloats(out), 0f);
            // blocks of 1 row × 2 columns: scales [[1, 10], [100, 1000]]
            b.linear(new Linear(x, new LinearWeight.Fp8(q, Tensors.fromFloats(b, DType.F32, new float[] {1, 10, 100, 1000}, 2, 2),
                    1, 2, null, false), null, out));
            assertArrayEquals(new float[] {1 + 2 - 10, 0x1p-9f * 100 + 448 * 100}, Tensors.toFloats(out), 0f);
        }
    }

    @Test
    void fp8ActivationQuantization() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            // W = identity (codes 1.0 on the diagonal), scale 1: out = x'
            byte[] eye = {0x38, 0, 0, 0x38};
            Tensor q = Tensors.fromBytes(b, DType.F8_E4M3, eye, 2, 2);
            Tensor one = Tensors.fromFloats(b, DType.F32, new float[] {1}, 1);
            // dynamic: row max 448 → a = 1; 1.0625 is a tie between e4m3 1 and 1.125 → 1; a zero row stays 0
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {448, 1.0625f, 0, 0, -896, 3}, 3, 2);
            Tensor out = b.allocate(DType.F32, 3, 2);
            b.linear(new Linear(x, new LinearWeight.Fp8(q, one, 0, 0, null, true), null, out));
            // row 2: a = 2, 3/2 = 1.5 is exact in e4m3
            assertArrayEquals(new float[] {448, 1, 0, 0, -896, 3}, Tensors.toFloats(out), 0f, b.description());
            // static scale 2: 4.25/2 = 2.125 is a tie between 2 and 2.25 → 2 → x' = 4; 1000/2 saturates to 448 → 896
            Tensor xs = Tensors.fromFloats(b, DType.F32, new float[] {4.25f, 1000}, 1, 2);
            Tensor outs = b.allocate(DType.F32, 1, 2);
            b.linear(new Linear(xs, new LinearWeight.Fp8(q, one, 0, 0, Tensors.fromFloats(b, DType.F32, new float[] {2}, 1),
                    false), null, outs));
            assertArrayEquals(new float[] {4, 896}, Tensors.toFloats(outs), 0f, b.description());
        }
    }

    @Test
    void fp8ActivationQuantizationPerTokenGroup() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor one = Tensors.fromFloats(b, DType.F32, new float[] {1}, 1);
            // K = 5 in groups of 2: [0, 2), [2, 4) and the short last group [4, 5); W = identity, so out = x'
            Tensor q = Tensors.fromBytes(b, DType.F8_E4M3, eye(5), 5, 5);
            float tiny = 0x1p-40f;
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {
                448, 1.0625f, 0, 0, -7, // a = 1 (1.0625 ties to 1), a zero group stays 0, a = 7/448 = 2^-6
                7, -7, tiny, -tiny, 896}, 2, 5); // an amax tie; a group below vLLM's eps; a = 2
            Tensor out = b.allocate(DType.F32, 2, 5);
            b.linear(new Linear(x, new LinearWeight.Fp8(q, one, 0, 0, null, true, 2), null, out));
            // the tiny group's scale is eps/448: 2^-40 / (1e-10/448) = 4.07 rounds to 4 (per token it would stay 2^-40)
            float epsScale = 1e-10f / 448;
            assertArrayEquals(new float[] {448, 1, 0, 0, -7, 7, -7, 4 * epsScale, -4 * epsScale, 896},
                    Tensors.toFloats(out), 0f, b.description());
        }
    }

    /**
     * A row-parallel rank owns whole groups (its columns start on a group boundary), so the halves'
     * quantized activations are exactly the full row's: tp=2 quantizes as tp=1 does. One scale per
     * token is not split-invariant (each half has its own amax), which the same check shows.
     */
    @Test
    void perTokenGroupsAreInvariantUnderAColumnSplit() {
        int k = 256, g = 128;
        float[] xs = new float[3 * k];
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) r.nextGaussian() * (i % k < g ? 1f : 0.01f); // the halves' amax differ by 100x
        }
        Backend b = SIMD;
        Tensor one = Tensors.fromFloats(b, DType.F32, new float[] {1}, 1);
        for (int group : new int[] {g, 0}) {
            Tensor x = Tensors.fromFloats(b, DType.F32, xs, 3, k);
            Tensor full = b.allocate(DType.F32, 3, k);
            b.linear(new Linear(x, new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, eye(k), k, k), one, 0, 0,
                    null, true, group), null, full));
            float[] want = Tensors.toFloats(full);
            float[] halves = new float[3 * k];
            LinearWeight.Fp8 half = new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, eye(g), g, g), one, 0, 0,
                    null, true, group);
            for (int rank = 0; rank < 2; rank++) {
                Tensor out = b.allocate(DType.F32, 3, g);
                b.linear(new Linear(x.narrowLast(rank * g, g), half, null, out));
                float[] o = Tensors.toFloats(out);
                for (int t = 0; t < 3; t++) {
                    System.arraycopy(o, t * g, halves, t * k + rank * g, g);
                }
            }
            if (group > 0) {
                assertArrayEquals(want, halves, 0f, "groups of " + g);
            } else {
                assertFalse(java.util.Arrays.equals(want, halves), "per token: each half has its own amax");
            }
        }
    }

    /** e4m3 codes of the n×n identity (0x38 = 1.0 on the diagonal). */
    private static byte[] eye(int n) {
        byte[] codes = new byte[n * n];
        for (int i = 0; i < n; i++) {
            codes[i * n + i] = 0x38;
        }
        return codes;
    }

    @Test
    void handCheckedInt4AndInt8() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            // q(n, k) = k % 8 for k < 8, 15 - (k % 8) for 8 <= k < 16, both rows; groups of 8
            int w0 = 0x76543210, w1 = 0x89ABCDEF;
            Tensor qw = Tensors.fromInts(b, new int[] {w0, w1, w0, w1}, 2, 2);
            Tensor scales = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 0.5f, 4}, 2, 2);
            float[] xs = new float[16];
            xs[0] = 1; // q = 0
            xs[3] = 1; // q = 3
            xs[8] = 1; // q = 15 (group 1)
            Tensor x = Tensors.fromFloats(b, DType.F32, xs, 1, 16);
            Tensor out = b.allocate(DType.F32, 1, 2);
            // symmetric (zero 8): row 0: (0-8)·1 + (3-8)·1 + (15-8)·2 = 1; row 1: (−8 −5)·0.5 + 7·4 = 21.5
            b.linear(new Linear(x, new LinearWeight.Int4(qw, scales, null, null, 8), null, out));
            assertArrayEquals(new float[] {1, 21.5f}, Tensors.toFloats(out), 0f, b.description());
            // zero points [[0, 15], [3, 1]]: row 0: 0 + 3 + 0·2 = 3; row 1: (−3 + 0)·0.5 + 14·4 = 54.5
            Tensor zeros = Tensors.fromBytes(b, DType.U8, new byte[] {0, 15, 3, 1}, 2, 2);
            b.linear(new Linear(x, new LinearWeight.Int4(qw, scales, zeros, null, 8), null, out));
            assertArrayEquals(new float[] {3, 54.5f}, Tensors.toFloats(out), 0f, b.description());
            // act-order: columns 0..7 in group 1, 8..15 in group 0 (swapped)
            int[] g = new int[16];
            Arrays.fill(g, 0, 8, 1);
            Tensor gIdx = Tensors.fromInts(b, g, 16);
            // row 0: (0−15)·2 + (3−15)·2 + (15−0)·1 = −39; row 1: (0−1)·4 + (3−1)·4 + (15−3)·0.5 = 10
            b.linear(new Linear(x, new LinearWeight.Int4(qw, scales, zeros, gIdx, 8), null, out));
            assertArrayEquals(new float[] {-39, 10}, Tensors.toFloats(out), 0f, b.description());
            // int8: w = [[-128, 127], [1, 0]], scales [0.5, 3]
            Tensor q8 = Tensors.fromBytes(b, DType.I8, new byte[] {-128, 127, 1, 0}, 2, 2);
            Tensor x2 = Tensors.fromFloats(b, DType.F32, new float[] {1, 2}, 1, 2);
            b.linear(new Linear(x2, new LinearWeight.Int8(q8, Tensors.fromFloats(b, DType.F32, new float[] {0.5f, 3}, 2)),
                    null, out));
            assertArrayEquals(new float[] {(-128 + 254) * 0.5f, 3}, Tensors.toFloats(out), 0f, b.description());
        }
    }

    @Test
    void edgeCases() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            // K = 0: out = bias; T = 0 and N = 0: nothing to do
            Tensor x0 = b.allocate(DType.F32, 2, 0);
            Tensor w0 = b.allocate(DType.BF16, 3, 0);
            Tensor bias = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3}, 3);
            Tensor out = b.allocate(DType.F32, 2, 3);
            b.linear(new Linear(x0, new LinearWeight.Dense(w0), bias, out));
            assertArrayEquals(new float[] {1, 2, 3, 1, 2, 3}, Tensors.toFloats(out), 0f);
            b.linear(new Linear(b.allocate(DType.F32, 0, 4), new LinearWeight.Dense(b.allocate(DType.F32, 3, 4)), null,
                    b.allocate(DType.F32, 0, 3)));
            b.linear(new Linear(b.allocate(DType.F32, 2, 4), new LinearWeight.Dense(b.allocate(DType.F32, 0, 4)), null,
                    b.allocate(DType.F32, 2, 0)));
            // NaN in one row of x poisons that row only; Inf·0 is NaN
            int k = 37;
            float[] xs = new float[2 * k];
            Arrays.fill(xs, 1);
            xs[5] = Float.NaN;
            float[] ws = new float[2 * k];
            Arrays.fill(ws, 0.5f);
            Tensor x = Tensors.fromFloats(b, DType.F32, xs, 2, k);
            Tensor out2 = b.allocate(DType.F32, 2, 2);
            b.linear(new Linear(x, new LinearWeight.Dense(Tensors.fromFloats(b, DType.F16, ws, 2, k)), null, out2));
            float[] r = Tensors.toFloats(out2);
            assertTrue(Float.isNaN(r[0]) && Float.isNaN(r[1]), Arrays.toString(r));
            assertArrayEquals(new float[] {k * 0.5f, k * 0.5f}, Arrays.copyOfRange(r, 2, 4), 0f);
        }
    }

    @Test
    void scalarFormMatchesAnIndependentF64Computation() {
        int seed = 0;
        for (Format f : Format.values()) {
            for (DType xt : FLOATS) {
                seed++;
                int k = f.int4() ? 8 * (1 + seed % 9) : 1 + (seed * 7) % 41;
                int n = 1 + seed % 7;
                int t = 1 + seed % 4;
                DType ot = FLOATS[seed % 3];
                Case c = Case.random(f, t, k, n, xt, ot, seed % 2 == 0, seed % 3 == 0, seed);
                double[][] nv = c.naive();
                float[] got = c.run(SCALAR);
                for (int i = 0; i < got.length; i++) {
                    double ulp = ot == DType.F32 ? 0 : Math.abs(nv[0][i]) * (ot == DType.BF16 ? 0x1p-8 : 0x1p-11) + 0x1p-24;
                    double err = Math.abs(got[i] - nv[0][i]);
                    if (!(err <= nv[1][i] + ulp)) {
                        fail(c + " element " + i + ": scalar " + got[i] + ", f64 " + nv[0][i] + ", error " + err
                                + " > bound " + (nv[1][i] + ulp));
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ (2) SIMD vs scalar

    @Test
    void simdMatchesScalarForEveryFormatAndDtype() {
        int[] ts = {1, 2, 3, 5, 8, 13, 67};
        int[] ks = {1, 7, 15, 16, 17, 31, 33, 129, 256};
        int[] k4 = {8, 16, 24, 136, 256};
        int[] ns = {1, 3, 4, 5, 9, 17};
        int seed = 100;
        for (Format f : Format.values()) {
            for (DType xt : FLOATS) {
                for (DType ot : FLOATS) {
                    seed++;
                    int t = ts[seed % ts.length];
                    int k = f.int4() ? k4[seed % k4.length] : ks[(seed * 5) % ks.length];
                    int n = ns[(seed * 3) % ns.length];
                    Case c = Case.random(f, t, k, n, xt, ot, seed % 2 == 1, seed % 4 < 2, seed);
                    float[] want = c.run(SCALAR);
                    float[] got = c.run(SIMD);
                    assertAgree(c, want, got);
                }
            }
        }
    }

    /**
     * Same weights, activations and f32 accumulation, different summation order: f32 outputs
     * within NMSE 1e-10 (typically 1e-14; a wrong element or a dropped term is far above it),
     * bf16/f16 outputs within one unit in the last place of the output dtype.
     */
    static void assertAgree(Case c, float[] want, float[] got) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.isNaN(want[i]) != Float.isNaN(got[i])) {
                fail(c + " element " + i + ": NaN pattern differs: scalar " + want[i] + ", simd " + got[i]);
            }
            if (c.outType() != DType.F32 && Float.isFinite(want[i])) {
                double ulp = c.outType() == DType.BF16 ? 0x1p-7 : 0x1p-10;
                if (Math.abs(got[i] - (double) want[i]) > ulp * Math.abs(want[i]) + 0x1p-24) {
                    fail(c + " element " + i + ": scalar " + want[i] + ", simd " + got[i] + ": more than one ulp apart");
                }
            }
        }
        if (c.outType() == DType.F32) {
            assertNmse(c, want, got, 1e-10);
        }
    }

    @Test
    void largeShapesAgreeToNmse1e10() {
        // the sizes the tiled paths see in real models: several T-blocks, partial panels, vector tails
        Case c = Case.random(Format.DENSE_BF16, 129, 769, 37, DType.BF16, DType.F32, true, true, 5);
        assertNmse(c, c.run(SCALAR), c.run(SIMD), 1e-10);
        Case q = Case.random(Format.INT4_ZP, 67, 768, 23, DType.F32, DType.F32, false, false, 6);
        assertNmse(q, q.run(SCALAR), q.run(SIMD), 1e-10);
    }

    static void assertNmse(Object what, float[] want, float[] got, double max) {
        double nmse = nmse(want, got);
        assertTrue(nmse <= max, what + ": NMSE " + nmse + " > " + max);
    }

    static double nmse(float[] want, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            if (Float.isFinite(want[i])) {
                double d = got[i] - (double) want[i];
                num += d * d;
                den += (double) want[i] * want[i];
            }
        }
        return den == 0 ? num : num / den;
    }

    // ------------------------------------------------------------------ (3) SIMD building blocks, bit for bit

    @Test
    void dequantizedRowsEqualTheElementSpecificationBitForBit() {
        List<LinearWeight> weights = new ArrayList<>();
        Backend b = SIMD;
        // every fp8 code (NaN included) and every f16 code (subnormals, Inf, NaN), odd K for the tails
        byte[] codes = new byte[256 * 3];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) i;
        }
        weights.add(new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, codes, 24, 32), Tensors.fromFloats(b,
                DType.F32, new float[] {0.37f}, 1), 0, 0, null, false));
        weights.add(new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, codes, 16, 48), Tensors.fromFloats(b,
                DType.F32, uniform(new SplittableRandom(1), 16, 0.1, 3), 16), 0, 0, null, false));
        weights.add(new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, codes, 32, 24), Tensors.fromFloats(b,
                DType.F32, uniform(new SplittableRandom(2), 11 * 5, 0.1, 3), 11, 5), 3, 5, null, false));
        // blocks of 32 columns (whole vectors: one loop per row), and scales so large that scale·2^120
        // overflows (the two-multiply path)
        weights.add(new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, codes, 6, 128), Tensors.fromFloats(b,
                DType.F32, uniform(new SplittableRandom(7), 2 * 4, 0.1, 3), 2, 4), 4, 32, null, false));
        weights.add(new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, codes, 6, 128), Tensors.fromFloats(b,
                DType.F32, new float[] {1e30f, 3e-40f, 1, 1e30f, 3e-40f, 1, 2, 0.5f}, 2, 4), 4, 32, null, false));
        weights.add(new LinearWeight.Fp8(Tensors.fromBytes(b, DType.F8_E4M3, codes, 12, 64), Tensors.fromFloats(b,
                DType.F32, new float[] {1e30f}, 1), 0, 0, null, false));
        short[] halves = new short[65536 + 7 * 13];
        for (int i = 0; i < halves.length; i++) {
            halves[i] = (short) i;
        }
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            Tensor w = b.allocate(dt, 659, 99); // 659·99 = 65241: odd K, a vector tail on every row
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                var seg = arena.allocate(2L * 659 * 99);
                for (int i = 0; i < 659 * 99; i++) {
                    seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, halves[(i * 7 + 3) % 65536]);
                }
                b.write(w, seg);
            }
            weights.add(new LinearWeight.Dense(w));
        }
        weights.add(new LinearWeight.Dense(Tensors.fromFloats(b, DType.F32, uniform(new SplittableRandom(3), 5 * 19, -1, 1), 5, 19)));
        byte[] i8 = new byte[256 * 3];
        for (int i = 0; i < i8.length; i++) {
            i8[i] = (byte) i;
        }
        weights.add(new LinearWeight.Int8(Tensors.fromBytes(b, DType.I8, i8, 8, 96), Tensors.fromFloats(b, DType.F32,
                uniform(new SplittableRandom(4), 8, 0.001, 1), 8)));
        for (Format f : new Format[] {Format.INT4_SYM, Format.INT4_ZP, Format.INT4_ACTORDER}) {
            for (int k : new int[] {8, 136, 264, 520}) {
                weights.add(RawWeight.random(f, 5, k, k + f.ordinal()).build(b));
            }
        }
        // int4 with a group size that splits words (element-by-element path) and a group boundary inside a chunk
        RawWeight odd = RawWeight.random(Format.INT4_ZP, 3, 48, 9);
        odd.groupSize = 12;
        odd.groups = 4;
        odd.scale = uniform(new SplittableRandom(5), 3 * 4, 0.1, 1);
        odd.zeros = new byte[3 * 4];
        weights.add(odd.build(b));
        RawWeight mid = RawWeight.random(Format.INT4_SYM, 3, 48, 10);
        mid.groupSize = 24;
        mid.groups = 2;
        mid.scale = uniform(new SplittableRandom(6), 3 * 2, 0.1, 1);
        weights.add(mid.build(b));

        for (LinearWeight lw : weights) {
            LinearDequant d = LinearDequant.of(lw);
            int k = lw.inFeatures();
            float[] row = new float[k + 2];
            for (int n = 0; n < lw.outFeatures(); n++) {
                row[0] = 12345;
                row[k + 1] = 12345;
                d.row(n, row, 1);
                assertEquals(12345f, row[0], "row() wrote before its range");
                assertEquals(12345f, row[k + 1], "row() wrote after its range");
                for (int c = 0; c < k; c++) {
                    float spec = d.at(n, c);
                    float got = row[1 + c];
                    if (!(Float.isNaN(spec) && Float.isNaN(got)) && Float.floatToRawIntBits(spec) != Float.floatToRawIntBits(got)) {
                        fail(lw.formatName() + " " + lw.outFeatures() + "x" + k + " [" + n + ", " + c + "]: row() gives "
                                + got + ", at() " + spec);
                    }
                }
            }
        }
    }

    /** The paired order's rows: position p of a block of 2L below kv is column 2p or 2(p - L) + 1. */
    @Test
    void pairedBf16RowsHoldTheElementSpecificationInPairedOrder() {
        int lanes = GemmF32.L;
        for (int k : new int[] {2 * lanes, 3 * 2 * lanes + 5, 99}) {
            Tensor w = Tensors.fromFloats(SIMD, DType.BF16, uniform(new SplittableRandom(k), 7 * k, -3, 3), 7, k);
            LinearWeight.Dense dense = new LinearWeight.Dense(w);
            assertTrue(GemmF32.paired(dense) == GemmF32.bf16Supported());
            if (!GemmF32.paired(dense)) {
                return;
            }
            LinearDequant.Dense d = (LinearDequant.Dense) LinearDequant.of(dense);
            int kv = GemmF32.vectorPart(k, true);
            assertEquals(k - k % (2 * lanes), kv);
            float[] row = new float[k + 2];
            for (int n = 0; n < 7; n++) {
                row[k + 1] = 12345;
                d.pairedRow(n, row, 1, kv);
                assertEquals(12345f, row[k + 1], "pairedRow() wrote after its range");
                for (int q = 0; q < k; q++) {
                    int p = q % (2 * lanes);
                    int col = q >= kv ? q : q - p + (p < lanes ? 2 * p : 2 * (p - lanes) + 1);
                    assertEquals(Float.floatToRawIntBits(d.at(n, col)), Float.floatToRawIntBits(row[1 + q]),
                            "K " + k + " [" + n + ", position " + q + " = column " + col + "]");
                }
            }
        }
    }

    /**
     * A dense bf16 W follows the paired chain order bit for bit, computed here one FMA at a time:
     * lane j sums k = 2j, 2j+1, 2L+2j, 2L+2j+1, ... below kv, then fold(), then the tail in order,
     * then the bias; at decode (T = 1, 3) and prefill (T = 20) shapes, with a tail (K % 2L = 7).
     */
    @Test
    void denseBf16FollowsThePairedChainOrder() {
        int lanes = GemmF32.L;
        if (!GemmF32.bf16Supported()) {
            return;
        }
        int n = 11;
        // K past GemmF32.ROW_STREAM_MAX_K: the batch-1 kernel reads its W rows side by side there
        for (int k : new int[] {2 * lanes * 9 + 7, GemmF32.ROW_STREAM_MAX_K + 2 * lanes * 3 + 7}) {
            int kv = GemmF32.vectorPart(k, true);
            for (int t : new int[] {1, 3, 20}) {
                Case c = Case.random(Format.DENSE_BF16, t, k, n, DType.F32, DType.F32, true, false, 50 + t);
                float[] got = c.run(SIMD);
                float[] wBits = Tensors.toFloats(Tensors.fromFloats(SIMD, DType.BF16, c.w().dense, n, k));
                for (int row = 0; row < t; row++) {
                    for (int j = 0; j < n; j++) {
                        assertEquals(Float.floatToRawIntBits(pairedChains(c.x(), row * k, wBits, j * k, k, kv)
                                + c.bias()[j]), Float.floatToRawIntBits(got[row * n + j]),
                                "K " + k + ", T " + t + ", row " + row + ", column " + j);
                    }
                }
            }
        }
    }

    /** dot(x[x0..], w[w0..]) over K in the paired chain order, one FMA at a time, before the bias. */
    private static float pairedChains(float[] x, int x0, float[] w, int w0, int k, int kv) {
        int lanes = GemmF32.L;
        float[] chains = new float[lanes];
        for (int lane = 0; lane < lanes; lane++) {
            float acc = 0f;
            for (int b = 0; b < kv; b += 2 * lanes) {
                acc = Math.fma(x[x0 + b + 2 * lane], w[w0 + b + 2 * lane], acc);
                acc = Math.fma(x[x0 + b + 2 * lane + 1], w[w0 + b + 2 * lane + 1], acc);
            }
            chains[lane] = acc;
        }
        float v = GemmF32.fold(chains);
        for (int col = kv; col < k; col++) {
            v = Math.fma(x[x0 + col], w[w0 + col], v);
        }
        return v;
    }

    @Test
    void theTestsOwnE4m3DecodingAgreesWithNumerics() {
        // at() decodes with Numerics; the f64 reference above decodes with e4m3(): they must agree on every code
        for (int c = 0; c < 256; c++) {
            double want = e4m3((byte) c);
            float got = Numerics.e4m3ToF32((byte) c);
            assertTrue(Double.isNaN(want) ? Float.isNaN(got) : got == want, "e4m3 code " + c);
        }
    }

    @Test
    void reductionNetworkEqualsTheScalarTree() {
        SplittableRandom r = new SplittableRandom(11);
        int lanes = GemmF32.L;
        for (int rep = 0; rep < 200; rep++) {
            float[] buf = new float[16 * lanes];
            for (int i = 0; i < buf.length; i++) {
                // wide magnitudes so that the order of additions shows in the bits
                buf[i] = (float) ((r.nextDouble() - 0.5) * Math.pow(2, r.nextInt(40) - 20));
            }
            float[] want = new float[16];
            for (int a = 0; a < 16; a++) {
                want[a] = GemmF32.fold(Arrays.copyOfRange(buf, a * lanes, (a + 1) * lanes));
            }
            for (int count : new int[] {16, 8, 4}) { // the decode kernels reduce 4 or 8 of them
                float[] got = new float[16];
                GemmF32.reduce(buf.clone(), got, count);
                for (int a = 0; a < count; a++) {
                    assertEquals(Float.floatToRawIntBits(want[a]), Float.floatToRawIntBits(got[a]),
                            "accumulator " + a + " of " + count);
                }
            }
            float[] got = new float[16];
            GemmF32.reduce16(buf, got);
            assertArrayEquals(want, got);
        }
    }

    // ------------------------------------------------------------------ (4) determinism

    @Test
    void bitIdenticalFor1And2And7ThreadsAtDecodeAndPrefillShapes() {
        CpuBackend[] pools = {CpuBackend.create(BackendOptions.defaults().withThreads(1)),
                CpuBackend.create(BackendOptions.defaults().withThreads(2)),
                CpuBackend.create(BackendOptions.defaults().withThreads(7))};
        // N split into several tasks for every pool; T = 67 spans two T-blocks (64 + 3 rows)
        List<Case> cases = List.of(
                Case.random(Format.DENSE_BF16, 1, 333, 67, DType.F32, DType.F32, true, false, 21),
                // past GemmF32.ROW_STREAM_MAX_K: 8-row groups in tasks of 56, 32 and 8 rows, a partial last group
                Case.random(Format.DENSE_BF16, 1, GemmF32.ROW_STREAM_MAX_K + 204, 403, DType.F32, DType.F32, true, false, 28),
                Case.random(Format.DENSE_BF16, 67, 333, 37, DType.BF16, DType.BF16, true, true, 22),
                Case.random(Format.DENSE_F32, 67, 129, 21, DType.F32, DType.F32, false, false, 23),
                Case.random(Format.INT4_ACTORDER, 1, 264, 37, DType.BF16, DType.F32, false, false, 24),
                Case.random(Format.INT4_ZP, 67, 136, 13, DType.F16, DType.F32, true, false, 25),
                Case.random(Format.FP8_BLOCK, 67, 150, 13, DType.F32, DType.F32, false, true, 26),
                Case.random(Format.FP8_DYNAMIC, 1, 129, 29, DType.BF16, DType.F32, false, false, 27));
        try {
            for (Case c : cases) {
                byte[] one = Tensors.toBytes(c.runTensor(pools[0]));
                for (int p = 1; p < pools.length; p++) {
                    assertArrayEquals(one, Tensors.toBytes(c.runTensor(pools[p])), c + " with "
                            + pools[p].context().threads() + " threads differs from 1 thread");
                }
            }
        } finally {
            for (CpuBackend p : pools) {
                p.close();
            }
        }
    }

    /** Also across the decode kernels that read dense weights in place (T ≤ 8) and the panel kernels (T > 8). */
    @ParameterizedTest
    @EnumSource(value = Format.class, names = {"DENSE_BF16", "DENSE_F32", "DENSE_F16", "INT8"})
    void aRowGivesTheSameBitsAloneAsInsideABatch(Format format) {
        // 1100: several K chunks of the prefill path, and a tail; 4300: past GemmF32.ROW_STREAM_MAX_K
        for (int k : new int[] {333, 1100, 4300}) {
            Case batch = Case.random(format, 67, k, 45, DType.F32, DType.F32, true, false, 31);
            float[] all = batch.run(SIMD);
            for (int row : new int[] {0, 3, 64, 66}) {
                Case alone = new Case(batch.w(), 1, Arrays.copyOfRange(batch.x(), row * k, (row + 1) * k),
                        batch.xType(), batch.bias(), batch.biasType(), batch.outType(), false);
                float[] one = alone.run(SIMD);
                for (int j = 0; j < 45; j++) {
                    assertEquals(Float.floatToRawIntBits(all[row * 45 + j]), Float.floatToRawIntBits(one[j]),
                            "K " + k + ", row " + row + ", column " + j);
                }
            }
        }
    }

    /**
     * The packed prefill kernel's edges: T past one row block and not a multiple of its micro-tile,
     * N over several panels with a partial last one, K with chains run in more than one piece and a
     * tail, strided x and out; every row against itself alone (the decode kernels).
     */
    @ParameterizedTest
    @EnumSource(value = Format.class, names = {"DENSE_BF16", "DENSE_F32", "INT4_ZP"})
    void packedPrefillEdgesGiveTheDecodeBits(Format format) {
        int k = 16 * 130 + 8; // 130 steps of 16 lanes (two chunks of chains), an 8-column tail
        int n = 2 * GemmF32.NR + 7;
        Case batch = Case.random(format, 2 * PackedGemm.T_BLOCK + 9, k, n, DType.F32, DType.F32, true, true, 41);
        float[] all = batch.run(SIMD);
        for (int row : new int[] {0, 5, PackedGemm.T_BLOCK + 3, 2 * PackedGemm.T_BLOCK + 8}) {
            Case alone = new Case(batch.w(), 1, Arrays.copyOfRange(batch.x(), row * k, (row + 1) * k), batch.xType(),
                    batch.bias(), batch.biasType(), batch.outType(), false);
            float[] one = alone.run(SIMD);
            for (int j = 0; j < n; j++) {
                assertEquals(Float.floatToRawIntBits(all[row * n + j]), Float.floatToRawIntBits(one[j]),
                        format + " row " + row + ", column " + j);
            }
        }
    }

    /**
     * Decode rows of a quantized weight give the bits they get inside a prefill batch (the packed
     * GEMM): int8 at T = 1 through the kernel that converts in registers ({@link GemmQuant}), the
     * other formats and sizes through the decode tiling; every decode size (1 to 8 rows, rows
     * repeated in partial groups), fp8 blocks and int4 groups of several chunks, a vector tail
     * (K % 16 = 8) and an e4m3 NaN code.
     */
    @ParameterizedTest
    @EnumSource(value = Format.class, names = {"FP8_TENSOR", "FP8_CHANNEL", "FP8_BLOCK", "FP8_DYNAMIC", "FP8_STATIC",
        "INT4_SYM", "INT4_ZP", "INT4_ACTORDER", "INT8"})
    void quantizedDecodeRowsGiveTheBitsOfTheSameRowsInsideABatch(Format format) {
        int n = 45;
        for (int k : new int[] {264, 1096}) {
            for (int group : new int[] {32, 128}) {
                RawWeight w = RawWeight.random(format, n, k, k + group + format.ordinal(), group);
                if (w.bytes != null && format != Format.INT8) {
                    w.bytes[7 * k + 5] = 0x7F; // NaN: row 7 of the output is NaN
                }
                if (format == Format.INT8 && GemmQuant.L >= 8) {
                    assertTrue(GemmQuant.Rows4.of(LinearDequant.of(w.build(SIMD))) != null, "int8 decodes in registers");
                }
                SplittableRandom r = new SplittableRandom(k * 7 + group);
                Case batch = new Case(w, 67, uniform(r, 67 * k, -1, 1), DType.F32, uniform(r, n, -1, 1), DType.F32,
                        DType.F32, false);
                float[] all = batch.run(SIMD);
                int[][] decodes = {{1, 0}, {2, 3}, {3, 7}, {4, 20}, {5, 30}, {6, 40}, {7, 50}, {8, 59}}; // {T, first row}
                for (int[] d : decodes) {
                    int t = d[0], row0 = d[1];
                    Case alone = new Case(w, t, Arrays.copyOfRange(batch.x(), row0 * k, (row0 + t) * k), DType.F32,
                            batch.bias(), DType.F32, DType.F32, false);
                    float[] got = alone.run(SIMD);
                    for (int i = 0; i < t * n; i++) {
                        assertEquals(Float.floatToIntBits(all[row0 * n + i]), Float.floatToIntBits(got[i]), format + " K "
                                + k + ", group " + group + ", T " + t + ": row " + (row0 + i / n) + ", column " + i % n);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ supports()

    @Test
    void supportsIsHonest() {
        Backend b = SIMD;
        Tensor w = b.allocate(DType.BF16, 4, 8);
        assertTrue(b.supports(new Linear(b.allocate(DType.F16, 2, 8), new LinearWeight.Dense(w), b.allocate(DType.BF16, 4),
                b.allocate(DType.BF16, 2, 4))));
        // non-float activations, outputs and biases are rejected by the record itself, naming the argument
        var ix = assertThrows(IllegalArgumentException.class, () -> new Linear(b.allocate(DType.I32, 2, 8),
                new LinearWeight.Dense(w), null, b.allocate(DType.F32, 2, 4)), "integer activations");
        assertTrue(ix.getMessage().contains("x is I32"), ix.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Linear(b.allocate(DType.F32, 2, 8),
                new LinearWeight.Dense(w), null, b.allocate(DType.F8_E4M3, 2, 4)), "fp8 output");
        assertThrows(IllegalArgumentException.class, () -> new Linear(b.allocate(DType.F32, 2, 8),
                new LinearWeight.Dense(w), b.allocate(DType.I32, 4), b.allocate(DType.F32, 2, 4)), "integer bias");
        // activation groups are dynamic per-token scales, and a group has at least one column
        var noDynamic = assertThrows(IllegalArgumentException.class, () -> new LinearWeight.Fp8(
                b.allocate(DType.F8_E4M3, 4, 8), b.allocate(DType.F32, 1), 0, 0, null, false, 4));
        assertTrue(noDynamic.getMessage().contains("activationGroupSize 4 needs dynamicPerToken"), noDynamic.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LinearWeight.Fp8(b.allocate(DType.F8_E4M3, 4, 8),
                b.allocate(DType.F32, 1), 0, 0, null, true, -1), "negative group");
        LinearWeight.Fp8 badScale = new LinearWeight.Fp8(b.allocate(DType.F8_E4M3, 4, 8), b.allocate(DType.F32, 1), 0, 0,
                b.allocate(DType.BF16, 1), false);
        assertFalse(b.supports(new Linear(b.allocate(DType.F32, 2, 8), badScale, null, b.allocate(DType.F32, 2, 4))),
                "bf16 input scale");
        Linear bad = new Linear(b.allocate(DType.F32, 2, 8), badScale, null, b.allocate(DType.F32, 2, 4));
        assertThrows(IllegalArgumentException.class, () -> b.linear(bad), "running an unsupported case fails");
    }

    @Test
    void anOutOfRangeGIdxFailsNamingIt() {
        Backend b = SIMD;
        Tensor gIdx = Tensors.fromInts(b, new int[] {0, 0, 0, 0, 1, 1, 1, 2}, 8);
        LinearWeight.Int4 w = new LinearWeight.Int4(b.allocate(DType.I32, 2, 1), b.allocate(DType.F32, 2, 2), null, gIdx, 4);
        Linear a = new Linear(b.allocate(DType.F32, 1, 8), w, null, b.allocate(DType.F32, 1, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> b.linear(a));
        assertTrue(e.getMessage().contains("g_idx[7] = 2"), e.getMessage());
    }

    // ------------------------------------------------------------------ helpers

    static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    static int[] permutation(SplittableRandom r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }
}
