package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.cpu.CpuContext;
import jdk.incubator.vector.FloatVector;

/**
 * The Mamba-2 SSD recurrence shared by {@link SsdChunkScanKernel} (varlen prefill) and
 * {@link SsdStateUpdateKernel} (one token per sequence). H heads of P channels, G groups of state
 * size N, head h reads group {@code g = h / (H/G)}; per token t (f32):
 * <pre>
 *   Δ = dt[t,h] + dtBias[h];  if softplus: Δ = softplus(Δ);  Δ = min(max(Δ, dtMin), dtMax)
 *   dA = exp(Δ·A[h])                                (double exp, rounded to f32)
 *   s[h,p,n] = dA·s[h,p,n] + (Δ·B[t,g,n])·x[t,h,p]
 *   y[t,h,p] = Σ_n C[t,g,n]·s[h,p,n] + D[h]·x[t,h,p]
 * </pre>
 *
 * <p>Both forms evaluate this token recurrence (no chunked decomposition, so {@code chunkSize} does
 * not change the result). Scalar form: one sequence at a time, loops verbatim (Σ_n in order). SIMD
 * form: (sequence, head) tasks in parallel, vectorized over n; the state gets exactly the scalar
 * form's operations (dA is one scalar per token and head), only Σ_n is summed lane-wise, so y may
 * differ from the scalar form by rounding and the final state is bit-identical. Each task's order
 * is fixed, so results do not depend on the thread count.
 *
 * <p>x, out: [T, H·P]; dt: [T, H]; B, C: [T, G·N]; states: F32 [S, H, P, N]; a: A [H];
 * dSkip, dtBias: [H] or null.
 */
record SsdCore(Tensor x, Tensor dt, Tensor B, Tensor C, Tensor states, Tensor out, float[] a, float[] dSkip,
        float[] dtBias, boolean softplus, float dtMin, float dtMax, int heads, int p, int n, int groups) {

    void run(ScanBatch sb, CpuContext ctx) {
        if (ctx.scalar()) {
            for (int i = 0; i < sb.size(); i++) {
                scalarSequence(sb.start()[i], sb.len()[i], sb.slot()[i], sb.init()[i]);
            }
            return;
        }
        ctx.pool().forEach(sb.size() * heads, task -> {
            int i = task / heads;
            simdHead(sb.start()[i], sb.len()[i], sb.slot()[i], sb.init()[i], task % heads);
        });
    }

    private int group(int h) {
        return h / (heads / groups);
    }

    /** Δ of head h from its raw dt value: bias, softplus, clamp. */
    float delta(float raw, int h) {
        float v = raw + (dtBias == null ? 0f : dtBias[h]);
        if (softplus) {
            v = ScanIo.softplus(v);
        }
        return Math.min(Math.max(v, dtMin), dtMax);
    }

    /** State row of (slot, head, channel) in the [S·H·P, N] row view of the pool. */
    private long stateRow(int slot, int h, int pp) {
        return ((long) slot * heads + h) * p + pp;
    }

    /** The specification: every head and channel of one sequence, in order. */
    void scalarSequence(int start, int len, int slot, boolean init) {
        float[] s = new float[heads * p * n]; // [H][P][N], zeros without initial state
        if (init) {
            for (int h = 0; h < heads; h++) {
                for (int pp = 0; pp < p; pp++) {
                    ScanIo.load(states, stateRow(slot, h, pp), 0, n, s, (h * p + pp) * n);
                }
            }
        }
        float[] xr = new float[heads * p], dtr = new float[heads], y = new float[heads * p];
        float[] br = new float[groups * n], cr = new float[groups * n];
        for (int t = start; t < start + len; t++) {
            ScanIo.load(x, t, 0, heads * p, xr, 0);
            ScanIo.load(dt, t, 0, heads, dtr, 0);
            ScanIo.load(B, t, 0, groups * n, br, 0);
            ScanIo.load(C, t, 0, groups * n, cr, 0);
            for (int h = 0; h < heads; h++) {
                int g = group(h);
                float delta = delta(dtr[h], h);
                float dA = (float) Math.exp(delta * a[h]);
                for (int pp = 0; pp < p; pp++) {
                    float xp = xr[h * p + pp];
                    float acc = 0f;
                    for (int k = 0; k < n; k++) {
                        int i = (h * p + pp) * n + k;
                        s[i] = dA * s[i] + (delta * br[g * n + k]) * xp;
                        acc += cr[g * n + k] * s[i];
                    }
                    if (dSkip != null) {
                        acc += dSkip[h] * xp;
                    }
                    y[h * p + pp] = acc;
                }
            }
            ScanIo.store(out, t, 0, heads * p, y, 0);
        }
        for (int h = 0; h < heads; h++) {
            for (int pp = 0; pp < p; pp++) {
                ScanIo.store(states, stateRow(slot, h, pp), 0, n, s, (h * p + pp) * n);
            }
        }
    }

    /** The SIMD form for head h of one sequence. */
    void simdHead(int start, int len, int slot, boolean init, int h) {
        float[] s = new float[p * n]; // [P][N]
        if (init) {
            for (int pp = 0; pp < p; pp++) {
                ScanIo.load(states, stateRow(slot, h, pp), 0, n, s, pp * n);
            }
        }
        int g = group(h);
        float[] xr = new float[p], dtr = new float[1], y = new float[p];
        float[] db = new float[n], cr = new float[n];
        int ub = ScanIo.vectorBound(n);
        for (int t = start; t < start + len; t++) {
            ScanIo.load(x, t, h * p, p, xr, 0);
            ScanIo.load(dt, t, h, 1, dtr, 0);
            ScanIo.load(B, t, g * n, n, db, 0);
            ScanIo.load(C, t, g * n, n, cr, 0);
            float delta = delta(dtr[0], h);
            float dA = (float) Math.exp(delta * a[h]);
            for (int k = 0; k < n; k++) {
                db[k] = delta * db[k]; // Δ·B, as the scalar form rounds it
            }
            for (int pp = 0; pp < p; pp++) {
                float xp = xr[pp];
                int row = pp * n;
                FloatVector accv = FloatVector.zero(ScanIo.SPECIES);
                int k = 0;
                for (; k < ub; k += ScanIo.LANES) {
                    FloatVector sv = FloatVector.fromArray(ScanIo.SPECIES, s, row + k).mul(dA)
                            .add(FloatVector.fromArray(ScanIo.SPECIES, db, k).mul(xp));
                    sv.intoArray(s, row + k);
                    accv = accv.add(FloatVector.fromArray(ScanIo.SPECIES, cr, k).mul(sv));
                }
                float acc = ScanIo.sumLanes(accv);
                for (; k < n; k++) {
                    s[row + k] = dA * s[row + k] + db[k] * xp;
                    acc += cr[k] * s[row + k];
                }
                if (dSkip != null) {
                    acc += dSkip[h] * xp;
                }
                y[pp] = acc;
            }
            ScanIo.store(out, t, h * p, p, y, 0);
        }
        for (int pp = 0; pp < p; pp++) {
            ScanIo.store(states, stateRow(slot, h, pp), 0, n, s, pp * n);
        }
    }
}
