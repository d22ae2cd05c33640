package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Shared by the stateful kernel tests: each op as a {@link Fixture} with fixed sizes and weights
 * that runs a varlen batch from host arrays (all per-token inputs of one token concatenated in one
 * row), plus an independent naive double-precision computation of the same batch.
 */
final class ScanTestSupport {
    /** What an output row of a padded sequence (or a token no sequence covers) must still hold. */
    static final float CANARY = -1024f;

    private ScanTestSupport() {
    }

    static CpuBackend scalar() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    }

    static CpuBackend simd() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "false"));
    }

    static CpuBackend simd(int threads) {
        return CpuBackend.create(BackendOptions.defaults().withThreads(threads).with("scalar", "false"));
    }

    static CpuBackend scalar(int threads) {
        return CpuBackend.create(BackendOptions.defaults().withThreads(threads).with("scalar", "true"));
    }

    static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    static float round(DType dt, double v) {
        return Numerics.roundTo(dt, (float) v);
    }

    static float[] rounded(DType dt, float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Numerics.roundTo(dt, v[i]);
        }
        return out;
    }

    /** A [rows, cols] tensor of values, as a strided view (stride cols + 5, offset 2) when asked. */
    static Tensor matrix(Backend b, DType dt, float[] values, int rows, int cols, boolean strided) {
        if (!strided || rows == 0) { // (a view of an empty buffer at an offset is rejected by CpuTensor)
            return Tensors.fromFloats(b, dt, values, rows, cols);
        }
        Tensor view = b.allocate(dt, rows, cols + 5).narrowLast(2, cols);
        Tensors.writeFloats(view, values);
        return view;
    }

    /** Columns [c0, c0 + n) of every row of a [rows, width] array. */
    static float[] cols(float[] in, int rows, int width, int c0, int n) {
        float[] out = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(in, r * width + c0, out, r * n, n);
        }
        return out;
    }

    static StateBatch batch(Backend b, Batch m) {
        return new StateBatch(Tensors.fromInts(b, m.qsl, m.qsl.length), Tensors.fromInts(b, m.slots, m.slots.length),
                Tensors.fromInts(b, m.init, m.init.length));
    }

    /** Varlen metadata: sequence i covers tokens [qsl[i], qsl[i+1]), slot −1 = padding. */
    record Batch(int[] qsl, int[] slots, int[] init) {
        int tokens() {
            return qsl[qsl.length - 1];
        }

        int size() {
            return slots.length;
        }

        /** Whether token row r belongs to a sequence that runs. */
        boolean[] activeRows() {
            boolean[] a = new boolean[tokens()];
            for (int i = 0; i < size(); i++) {
                if (slots[i] >= 0) {
                    Arrays.fill(a, qsl[i], qsl[i + 1], true);
                }
            }
            return a;
        }

        /** Sequences of these lengths, slots, init flags. */
        static Batch of(int[] lens, int[] slots, int[] init) {
            int[] qsl = new int[lens.length + 1];
            for (int i = 0; i < lens.length; i++) {
                qsl[i + 1] = qsl[i] + lens[i];
            }
            return new Batch(qsl, slots.clone(), init.clone());
        }

        /** One token per sequence, always continuing from its slot (the decode form). */
        static Batch decode(int[] slots) {
            int[] lens = new int[slots.length];
            int[] init = new int[slots.length];
            Arrays.fill(lens, 1);
            Arrays.fill(init, 1);
            return of(lens, slots, init);
        }
    }

    /** An op's outputs as host arrays: out [T, outWidth] and the whole state pool. */
    record Result(float[] out, float[] pool) {
    }

    /** One stateful op with fixed sizes, dtypes and weights. */
    abstract static class Fixture {
        final DType dt;
        final boolean strided;

        Fixture(DType dt, boolean strided) {
            this.dt = dt;
            this.strided = strided;
        }

        /** Input floats per token (all per-token inputs concatenated). */
        abstract int width();

        abstract int outWidth();

        /** Floats per state slot. */
        abstract int slotSize();

        /** The state pool's shape for {@code slots} slots. */
        abstract int[] poolShape(int slots);

        DType stateDtype() {
            return DType.F32;
        }

        /** Random per-token inputs in each input's range, already rounded to the activation dtype. */
        abstract float[] tokens(SplittableRandom r, int t);

        /** A random state pool (rounded to the state dtype). */
        float[] pool(SplittableRandom r, int slots) {
            return rounded(stateDtype(), uniform(r, slots * slotSize(), -1, 1));
        }

        /** Runs the prefill op on b. */
        abstract Result prefill(Backend b, float[] in, Batch m, float[] pool);

        /** Runs the decode op (one token per sequence, from its slot); default: prefill with 1-token sequences. */
        Result decode(Backend b, float[] in, int[] slots, float[] pool) {
            return prefill(b, in, Batch.decode(slots), pool);
        }

        /** Whether {@link #decode} is a separate update op. */
        boolean hasUpdateOp() {
            return false;
        }

        /** The independent naive computation in double: per active sequence, the recurrence of the Javadoc. */
        Result naive(float[] in, Batch m, float[] pool) {
            float[] out = new float[m.tokens() * outWidth()];
            Arrays.fill(out, CANARY);
            float[] p = pool.clone();
            for (int i = 0; i < m.size(); i++) {
                if (m.slots[i] < 0) {
                    continue;
                }
                int s = m.slots[i];
                double[] st = new double[slotSize()];
                if (m.init[i] != 0) {
                    for (int j = 0; j < st.length; j++) {
                        st[j] = pool[s * slotSize() + j];
                    }
                }
                for (int t = m.qsl[i]; t < m.qsl[i + 1]; t++) {
                    double[] o = naiveStep(Arrays.copyOfRange(in, t * width(), (t + 1) * width()), st);
                    for (int j = 0; j < o.length; j++) {
                        out[t * outWidth() + j] = round(dt, o[j]);
                    }
                }
                for (int j = 0; j < st.length; j++) {
                    p[s * slotSize() + j] = round(stateDtype(), st[j]);
                }
            }
            return new Result(out, p);
        }

        /** One token of the recurrence in double: updates the slot state in place, returns the output row. */
        abstract double[] naiveStep(float[] token, double[] state);

        Tensor input(Backend b, float[] in, int rows, int c0, int n) {
            return matrix(b, dt, cols(in, rows, width(), c0, n), rows, n, strided);
        }

        Tensor output(Backend b, int rows) {
            float[] canary = new float[rows * outWidth()];
            Arrays.fill(canary, CANARY);
            return matrix(b, dt, canary, rows, outWidth(), strided);
        }

        Tensor poolTensor(Backend b, float[] pool) {
            return Tensors.fromFloats(b, stateDtype(), pool, poolShape(pool.length / slotSize()));
        }

        static Tensor f32(Backend b, float[] v, int... shape) {
            return v == null ? null : Tensors.fromFloats(b, DType.F32, v, shape);
        }

        Tensor weights(Backend b, float[] v, int... shape) {
            return v == null ? null : Tensors.fromFloats(b, dt, v, shape);
        }

        static Result result(Tensor out, Tensor pool) {
            return new Result(Tensors.toFloats(out), Tensors.toFloats(pool));
        }

        @Override
        public abstract String toString();
    }

    /** Causal conv1d with its update op: token = x [C]. */
    static final class Conv extends Fixture {
        final int c, k;
        final DType stateDt;
        final boolean silu;
        final float[] w, bias; // [C][K], [C] or null; rounded to dt

        Conv(DType dt, DType stateDt, int c, int k, boolean bias, boolean silu, boolean strided, long seed) {
            super(dt, strided);
            this.c = c;
            this.k = k;
            this.stateDt = stateDt;
            this.silu = silu;
            SplittableRandom r = new SplittableRandom(seed);
            this.w = rounded(dt, uniform(r, c * k, -0.6, 0.6));
            this.bias = bias ? rounded(dt, uniform(r, c, -0.5, 0.5)) : null;
        }

        @Override
        int width() {
            return c;
        }

        @Override
        int outWidth() {
            return c;
        }

        @Override
        int slotSize() {
            return (k - 1) * c;
        }

        @Override
        int[] poolShape(int slots) {
            return new int[] {slots, k - 1, c};
        }

        @Override
        DType stateDtype() {
            return stateDt;
        }

        @Override
        float[] tokens(SplittableRandom r, int t) {
            return rounded(dt, uniform(r, t * c, -2, 2));
        }

        @Override
        Result prefill(Backend b, float[] in, Batch m, float[] pool) {
            int t = m.tokens();
            Tensor out = output(b, t), states = poolTensor(b, pool);
            b.causalConv1d(new CausalConv1d(input(b, in, t, 0, c), weights(b, w, c, k), weights(b, bias, c), states,
                    batch(b, m), silu, out));
            return result(out, states);
        }

        @Override
        Result decode(Backend b, float[] in, int[] slots, float[] pool) {
            int n = slots.length;
            Tensor out = output(b, n), states = poolTensor(b, pool);
            b.causalConv1dUpdate(new CausalConv1dUpdate(input(b, in, n, 0, c), weights(b, w, c, k), weights(b, bias, c),
                    states, Tensors.fromInts(b, slots, n), silu, out));
            return result(out, states);
        }

        @Override
        boolean hasUpdateOp() {
            return true;
        }

        /** state: [K−1][C] = the previous K−1 inputs, oldest first (values as the state dtype stores them). */
        @Override
        double[] naiveStep(float[] x, double[] state) {
            double[] o = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double acc = bias == null ? 0 : bias[ch];
                for (int i = 0; i < k - 1; i++) {
                    acc += (double) w[ch * k + i] * state[i * c + ch];
                }
                acc += (double) w[ch * k + k - 1] * x[ch];
                o[ch] = silu ? acc / (1 + Math.exp(-acc)) : acc;
            }
            shift(state, x, k, c);
            return o;
        }

        @Override
        public String toString() {
            return "conv1d[C=" + c + ",K=" + k + "," + dt + "/" + stateDt + (bias != null ? ",bias" : "")
                    + (silu ? ",silu" : "") + (strided ? ",strided" : "") + "]";
        }
    }

    /**
     * Drops the oldest state row and appends v. Within a sequence e keeps the input values exactly;
     * {@link Fixture#naive} rounds the final state to the state dtype once.
     */
    static void shift(double[] state, float[] v, int k, int c) {
        System.arraycopy(state, c, state, 0, (k - 2) * c);
        for (int ch = 0; ch < c; ch++) {
            state[(k - 2) * c + ch] = v[ch];
        }
    }

    /** LFM2 short conv: token = [B | C | x], each [C]. */
    static final class ShortConvFix extends Fixture {
        final int c, k;
        final DType stateDt;
        final float[] w, bias;

        ShortConvFix(DType dt, DType stateDt, int c, int k, boolean bias, boolean strided, long seed) {
            super(dt, strided);
            this.c = c;
            this.k = k;
            this.stateDt = stateDt;
            SplittableRandom r = new SplittableRandom(seed);
            this.w = rounded(dt, uniform(r, c * k, -0.6, 0.6));
            this.bias = bias ? rounded(dt, uniform(r, c, -0.5, 0.5)) : null;
        }

        @Override
        int width() {
            return 3 * c;
        }

        @Override
        int outWidth() {
            return c;
        }

        @Override
        int slotSize() {
            return (k - 1) * c;
        }

        @Override
        int[] poolShape(int slots) {
            return new int[] {slots, k - 1, c};
        }

        @Override
        DType stateDtype() {
            return stateDt;
        }

        @Override
        float[] tokens(SplittableRandom r, int t) {
            return rounded(dt, uniform(r, t * 3 * c, -2, 2));
        }

        @Override
        Result prefill(Backend b, float[] in, Batch m, float[] pool) {
            int t = m.tokens();
            Tensor out = output(b, t), states = poolTensor(b, pool);
            b.shortConv(new ShortConv(input(b, in, t, 0, 3 * c), weights(b, w, c, k), weights(b, bias, c), states,
                    batch(b, m), out));
            return result(out, states);
        }

        @Override
        double[] naiveStep(float[] tok, double[] state) {
            float[] bx = new float[c];
            for (int ch = 0; ch < c; ch++) {
                bx[ch] = round(dt, (double) tok[ch] * tok[2 * c + ch]);
            }
            double[] o = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double acc = bias == null ? 0 : bias[ch];
                for (int i = 0; i < k - 1; i++) {
                    acc += (double) w[ch * k + i] * state[i * c + ch];
                }
                acc += (double) w[ch * k + k - 1] * bx[ch];
                o[ch] = tok[c + ch] * (double) round(dt, acc); // the conv result is rounded to bcx's dtype
            }
            shift(state, bx, k, c);
            return o;
        }

        @Override
        public String toString() {
            return "short_conv[C=" + c + ",K=" + k + "," + dt + "/" + stateDt + (bias != null ? ",bias" : "")
                    + (strided ? ",strided" : "") + "]";
        }
    }

    /** Mamba-1 selective scan with its update op: token = [u | delta | z] each [D], then [B | C] each [N]. */
    static final class Selective extends Fixture {
        final int d, n;
        final boolean z, softplus;
        final float[] a, dSkip, deltaBias; // F32 [D][N], [D], [D]

        Selective(DType dt, int d, int n, boolean z, boolean dSkip, boolean deltaBias, boolean softplus,
                boolean strided, long seed) {
            super(dt, strided);
            this.d = d;
            this.n = n;
            this.z = z;
            this.softplus = softplus;
            SplittableRandom r = new SplittableRandom(seed);
            float[] aLog = uniform(r, d * n, -1, 1.5);
            this.a = new float[d * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) -Math.exp(aLog[i]);
            }
            this.dSkip = dSkip ? uniform(r, d, -1, 1) : null;
            this.deltaBias = deltaBias ? uniform(r, d, softplus ? -0.5 : 0, 0.5) : null; // δ ≥ 0 keeps h bounded
        }

        @Override
        int width() {
            return 3 * d + 2 * n;
        }

        @Override
        int outWidth() {
            return d;
        }

        @Override
        int slotSize() {
            return d * n;
        }

        @Override
        int[] poolShape(int slots) {
            return new int[] {slots, d, n};
        }

        @Override
        float[] tokens(SplittableRandom r, int t) {
            float[] v = new float[t * width()];
            for (int i = 0; i < t; i++) {
                int o = i * width();
                System.arraycopy(uniform(r, d, -1, 1), 0, v, o, d);                       // u
                System.arraycopy(uniform(r, d, softplus ? -3 : 0, softplus ? 1 : 0.5), 0, v, o + d, d); // delta
                System.arraycopy(uniform(r, d, -2, 2), 0, v, o + 2 * d, d);               // z
                System.arraycopy(uniform(r, 2 * n, -1, 1), 0, v, o + 3 * d, 2 * n);       // B, C
            }
            return rounded(dt, v);
        }

        @Override
        Result prefill(Backend b, float[] in, Batch m, float[] pool) {
            int t = m.tokens();
            Tensor out = output(b, t), states = poolTensor(b, pool);
            b.selectiveScan(new SelectiveScan(input(b, in, t, 0, d), input(b, in, t, d, d), f32(b, a, d, n),
                    input(b, in, t, 3 * d, n), input(b, in, t, 3 * d + n, n), f32(b, dSkip, d),
                    z ? input(b, in, t, 2 * d, d) : null, f32(b, deltaBias, d), softplus, states, batch(b, m), out));
            return result(out, states);
        }

        @Override
        Result decode(Backend b, float[] in, int[] slots, float[] pool) {
            int t = slots.length;
            Tensor out = output(b, t), states = poolTensor(b, pool);
            b.selectiveStateUpdate(new SelectiveStateUpdate(input(b, in, t, 0, d), input(b, in, t, d, d),
                    f32(b, a, d, n), input(b, in, t, 3 * d, n), input(b, in, t, 3 * d + n, n), f32(b, dSkip, d),
                    z ? input(b, in, t, 2 * d, d) : null, f32(b, deltaBias, d), softplus, states,
                    Tensors.fromInts(b, slots, t), out));
            return result(out, states);
        }

        @Override
        boolean hasUpdateOp() {
            return true;
        }

        @Override
        double[] naiveStep(float[] tok, double[] h) {
            double[] o = new double[d];
            for (int ch = 0; ch < d; ch++) {
                double u = tok[ch];
                double delta = tok[d + ch] + (deltaBias == null ? 0 : deltaBias[ch]);
                if (softplus) {
                    delta = Math.log1p(Math.exp(delta));
                }
                double y = 0;
                for (int s = 0; s < n; s++) {
                    int i = ch * n + s;
                    h[i] = Math.exp(delta * a[i]) * h[i] + delta * tok[3 * d + s] * u;
                    y += h[i] * tok[3 * d + n + s];
                }
                if (dSkip != null) {
                    y += dSkip[ch] * u;
                }
                if (z) {
                    double zz = tok[2 * d + ch];
                    y *= zz / (1 + Math.exp(-zz));
                }
                o[ch] = y;
            }
            return o;
        }

        @Override
        public String toString() {
            return "selective_scan[D=" + d + ",N=" + n + "," + dt + (z ? ",z" : "") + (dSkip != null ? ",D" : "")
                    + (deltaBias != null ? ",bias" : "") + (softplus ? ",softplus" : "") + (strided ? ",strided" : "")
                    + "]";
        }
    }

    /** Mamba-2 SSD with its update op: token = [x (H·P) | dt (H) | B (G·N) | C (G·N)]. */
    static final class Ssd extends Fixture {
        final int h, p, g, n;
        final boolean softplus;
        final float dtMin, dtMax;
        final float[] a, dSkip, dtBias; // F32 [H]

        Ssd(DType dt, int h, int p, int g, int n, boolean dSkip, boolean dtBias, boolean softplus, float dtMin,
                float dtMax, boolean strided, long seed) {
            super(dt, strided);
            this.h = h;
            this.p = p;
            this.g = g;
            this.n = n;
            this.softplus = softplus;
            this.dtMin = dtMin;
            this.dtMax = dtMax;
            SplittableRandom r = new SplittableRandom(seed);
            this.a = uniform(r, h, -4, -0.3);
            this.dSkip = dSkip ? uniform(r, h, -1, 1) : null;
            this.dtBias = dtBias ? uniform(r, h, softplus ? -1 : 0, 1) : null; // Δ ≥ 0 keeps the state bounded
        }

        @Override
        int width() {
            return h * p + h + 2 * g * n;
        }

        @Override
        int outWidth() {
            return h * p;
        }

        @Override
        int slotSize() {
            return h * p * n;
        }

        @Override
        int[] poolShape(int slots) {
            return new int[] {slots, h, p, n};
        }

        @Override
        float[] tokens(SplittableRandom r, int t) {
            float[] v = new float[t * width()];
            for (int i = 0; i < t; i++) {
                int o = i * width();
                System.arraycopy(uniform(r, h * p, -1, 1), 0, v, o, h * p);
                System.arraycopy(uniform(r, h, softplus ? -3 : 0, softplus ? 0.5 : 0.3), 0, v, o + h * p, h);
                System.arraycopy(uniform(r, 2 * g * n, -1, 1), 0, v, o + h * p + h, 2 * g * n);
            }
            return rounded(dt, v);
        }

        private SsdChunkScan prefillArgs(Backend b, float[] in, Batch m, Tensor states, Tensor out) {
            int t = m.tokens(), hp = h * p, gn = g * n;
            return new SsdChunkScan(input(b, in, t, 0, hp), input(b, in, t, hp, h), f32(b, a, h),
                    input(b, in, t, hp + h, gn), input(b, in, t, hp + h + gn, gn), f32(b, dSkip, h), f32(b, dtBias, h),
                    softplus, dtMin, dtMax, g, 8, states, batch(b, m), out);
        }

        @Override
        Result prefill(Backend b, float[] in, Batch m, float[] pool) {
            Tensor out = output(b, m.tokens()), states = poolTensor(b, pool);
            b.ssdChunkScan(prefillArgs(b, in, m, states, out));
            return result(out, states);
        }

        @Override
        Result decode(Backend b, float[] in, int[] slots, float[] pool) {
            int t = slots.length, hp = h * p, gn = g * n;
            Tensor out = output(b, t), states = poolTensor(b, pool);
            b.ssdStateUpdate(new SsdStateUpdate(input(b, in, t, 0, hp), input(b, in, t, hp, h), f32(b, a, h),
                    input(b, in, t, hp + h, gn), input(b, in, t, hp + h + gn, gn), f32(b, dSkip, h), f32(b, dtBias, h),
                    softplus, dtMin, dtMax, g, states, Tensors.fromInts(b, slots, t), out));
            return result(out, states);
        }

        @Override
        boolean hasUpdateOp() {
            return true;
        }

        @Override
        double[] naiveStep(float[] tok, double[] s) {
            double[] o = new double[h * p];
            int hp = h * p;
            for (int hh = 0; hh < h; hh++) {
                int gg = hh / (h / g);
                double delta = tok[hp + hh] + (dtBias == null ? 0 : dtBias[hh]);
                if (softplus) {
                    delta = Math.log1p(Math.exp(delta));
                }
                delta = Math.min(Math.max(delta, dtMin), dtMax);
                double dA = Math.exp(delta * a[hh]);
                for (int pp = 0; pp < p; pp++) {
                    double x = tok[hh * p + pp];
                    double y = 0;
                    for (int k = 0; k < n; k++) {
                        int i = (hh * p + pp) * n + k;
                        s[i] = dA * s[i] + delta * tok[hp + h + gg * n + k] * x;
                        y += tok[hp + h + g * n + gg * n + k] * s[i];
                    }
                    o[hh * p + pp] = y + (dSkip == null ? 0 : dSkip[hh] * x);
                }
            }
            return o;
        }

        @Override
        public String toString() {
            return "ssd[H=" + h + ",P=" + p + ",G=" + g + ",N=" + n + "," + dt + (dSkip != null ? ",D" : "")
                    + (dtBias != null ? ",bias" : "") + (softplus ? ",softplus" : "") + ",clamp=[" + dtMin + ","
                    + dtMax + "]" + (strided ? ",strided" : "") + "]";
        }
    }

    /** MiniMax lightning attention: token = [q | k | v], each [H·D]. */
    static final class Lightning extends Fixture {
        final int h, d;
        final float[] slopes;

        Lightning(DType dt, int h, int d, boolean strided, long seed) {
            super(dt, strided);
            this.h = h;
            this.d = d;
            this.slopes = uniform(new SplittableRandom(seed), h, 0.01, 1.5);
        }

        @Override
        int width() {
            return 3 * h * d;
        }

        @Override
        int outWidth() {
            return h * d;
        }

        @Override
        int slotSize() {
            return h * d * d;
        }

        @Override
        int[] poolShape(int slots) {
            return new int[] {slots, h, d, d};
        }

        @Override
        float[] tokens(SplittableRandom r, int t) {
            return rounded(dt, uniform(r, t * width(), -0.3, 1));
        }

        @Override
        Result prefill(Backend b, float[] in, Batch m, float[] pool) {
            int t = m.tokens(), hd = h * d;
            Tensor out = output(b, t), states = poolTensor(b, pool);
            b.linearAttention(new LinearAttention(input(b, in, t, 0, hd), input(b, in, t, hd, hd),
                    input(b, in, t, 2 * hd, hd), f32(b, slopes, h), states, batch(b, m), out));
            return result(out, states);
        }

        @Override
        double[] naiveStep(float[] tok, double[] s) {
            int hd = h * d;
            double[] o = new double[hd];
            for (int hh = 0; hh < h; hh++) {
                double lambda = Math.exp(-slopes[hh]);
                int base = hh * d * d;
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                        s[base + i * d + j] = lambda * s[base + i * d + j] + (double) tok[hd + hh * d + i] * tok[2 * hd + hh * d + j];
                    }
                }
                for (int j = 0; j < d; j++) {
                    double acc = 0;
                    for (int i = 0; i < d; i++) {
                        acc += tok[hh * d + i] * s[base + i * d + j];
                    }
                    o[hh * d + j] = acc;
                }
            }
            return o;
        }

        @Override
        public String toString() {
            return "linear_attention[H=" + h + ",D=" + d + "," + dt + (strided ? ",strided" : "") + "]";
        }
    }

    // ---- comparisons ----

    /** Σ(c−r)² / Σr² over the rows that are active (all rows when active is null). */
    static double nmse(float[] ref, float[] got, int width, boolean[] active) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (active != null && !active[i / width]) {
                continue;
            }
            double e = (double) got[i] - ref[i];
            num += e * e;
            den += (double) ref[i] * ref[i];
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : num / den;
    }

    /** Out rows of running sequences within NMSE {@code max}; every other row still all canaries. */
    static void assertOut(String what, float[] ref, float[] got, int width, Batch m, double max) {
        assertEquals(ref.length, got.length, what + ": output size");
        boolean[] active = m.activeRows();
        for (int r = 0; r < active.length; r++) {
            for (int j = 0; !active[r] && j < width; j++) {
                assertEquals(CANARY, got[r * width + j], what + ": row " + r + " belongs to no running sequence but "
                        + "was written");
            }
        }
        for (float v : got) {
            assertTrue(Float.isFinite(v), what + ": non-finite output " + v);
        }
        double e = nmse(ref, got, width, active);
        assertTrue(e <= max, what + ": out NMSE " + e + " > " + max);
    }

    /** Slots used by running sequences within NMSE {@code max}; every other slot bit-identical to {@code before}. */
    static void assertPool(String what, float[] before, float[] ref, float[] got, int slotSize, int[] slots,
            double max) {
        boolean[] used = new boolean[ref.length / slotSize];
        for (int s : slots) {
            if (s >= 0) {
                used[s] = true;
            }
        }
        for (int s = 0; s < used.length; s++) {
            if (!used[s]) {
                for (int j = 0; j < slotSize; j++) {
                    int i = s * slotSize + j;
                    if (Float.floatToRawIntBits(before[i]) != Float.floatToRawIntBits(got[i])) {
                        fail(what + ": slot " + s + " is not in the batch but element " + j + " changed from "
                                + before[i] + " to " + got[i]);
                    }
                }
            }
        }
        double e = nmse(ref, got, slotSize, used);
        assertTrue(e <= max, what + ": state NMSE " + e + " > " + max);
    }

    static void assertBitEqual(String what, float[] a, float[] b) {
        assertEquals(a.length, b.length, what + ": length");
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                fail(what + ": element " + i + " differs: " + a[i] + " vs " + b[i]);
            }
        }
    }

    // ---- random batches ----

    /**
     * A random varlen batch: up to {@code maxSeqs} sequences of length 1..maxLen (a few of length
     * 1), random init flags, about one in five padded, distinct slots from a pool of {@code slots}.
     */
    static Batch randomBatch(SplittableRandom r, int maxSeqs, int maxLen, int slots) {
        int n = r.nextInt(maxSeqs + 1);
        n = Math.min(n, slots);
        int[] lens = new int[n], sl = new int[n], init = new int[n];
        List<Integer> free = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            free.add(s);
        }
        java.util.Collections.shuffle(free, new java.util.Random(r.nextLong()));
        for (int i = 0; i < n; i++) {
            lens[i] = r.nextInt(4) == 0 ? 1 : 1 + r.nextInt(maxLen);
            sl[i] = r.nextInt(5) == 0 ? -1 : free.remove(free.size() - 1);
            init[i] = r.nextBoolean() ? 1 : 0;
        }
        return Batch.of(lens, sl, init);
    }
}
