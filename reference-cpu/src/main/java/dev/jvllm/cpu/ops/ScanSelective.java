package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.cpu.CpuContext;
import jdk.incubator.vector.FloatVector;

/**
 * The Mamba-1 selective scan shared by {@link SelectiveScanKernel} (varlen prefill) and
 * {@link SelectiveStateUpdateKernel} (one token per sequence): per token t, channel d, state n,
 * <pre>
 *   δ = delta[t,d] + deltaBias[d];  if softplus: δ = softplus(δ)
 *   h[d,n] = exp(δ·A[d,n])·h[d,n] + (δ·B[t,n])·u[t,d]
 *   y = Σ_n h[d,n]·C[t,n] + Dskip[d]·u[t,d];   if z: y = y·silu(z[t,d])
 * </pre>
 * all in f32 (exp evaluated in double and rounded), y rounded once into out.
 *
 * <p>Scalar form: one sequence at a time, the loops above verbatim (Σ_n in order n = 0, 1, ...).
 * SIMD form: (sequence, {@value #BLOCK}-channel block) tasks in parallel, vectorized over n; h gets
 * the same operations per element (with {@link VectorMath#exp}), and Σ_n is a lane-wise partial sum
 * folded lane by lane at the end, so y differs from the scalar form only by rounding. Each task's order is
 * fixed, so results do not depend on the thread count.
 *
 * <p>u, delta, z, out: [T, D] (z may be null); B, C: [T, N]; states: F32 [S, D, N]; a: [D·N] = A
 * as f32; dSkip, deltaBias: [D] or null.
 */
record ScanSelective(Tensor u, Tensor delta, Tensor B, Tensor C, Tensor z, Tensor states, Tensor out, float[] a,
        float[] dSkip, float[] deltaBias, boolean softplus, int d, int n) {
    static final int BLOCK = 16;

    void run(ScanBatch sb, CpuContext ctx) {
        if (ctx.scalar()) {
            for (int i = 0; i < sb.size(); i++) {
                scalarSequence(sb.start()[i], sb.len()[i], sb.slot()[i], sb.init()[i]);
            }
            return;
        }
        int blocks = (d + BLOCK - 1) / BLOCK;
        ctx.pool().forEach(sb.size() * blocks, task -> {
            int i = task / blocks, d0 = (task % blocks) * BLOCK;
            simdBlock(sb.start()[i], sb.len()[i], sb.slot()[i], sb.init()[i], d0, Math.min(BLOCK, d - d0));
        });
    }

    /** δ of channel dd (absolute) from its raw delta value. */
    private float delta(float raw, int dd) {
        float v = raw + (deltaBias == null ? 0f : deltaBias[dd]);
        return softplus ? ScanIo.softplus(v) : v;
    }

    /** The specification: every channel of one sequence, in order. */
    void scalarSequence(int start, int len, int slot, boolean init) {
        float[] h = new float[d * n]; // [D][N], zeros without initial state
        if (init) {
            for (int dd = 0; dd < d; dd++) {
                ScanIo.load(states, (long) slot * d + dd, 0, n, h, dd * n);
            }
        }
        float[] uu = new float[d], dl = new float[d], zz = new float[d], y = new float[d];
        float[] bb = new float[n], cc = new float[n];
        for (int t = start; t < start + len; t++) {
            ScanIo.load(u, t, 0, d, uu, 0);
            ScanIo.load(delta, t, 0, d, dl, 0);
            if (z != null) {
                ScanIo.load(z, t, 0, d, zz, 0);
            }
            ScanIo.load(B, t, 0, n, bb, 0);
            ScanIo.load(C, t, 0, n, cc, 0);
            for (int dd = 0; dd < d; dd++) {
                float dt = delta(dl[dd], dd);
                float acc = 0f;
                for (int s = 0; s < n; s++) {
                    int i = dd * n + s;
                    h[i] = (float) Math.exp(dt * a[i]) * h[i] + (dt * bb[s]) * uu[dd];
                    acc += h[i] * cc[s];
                }
                if (dSkip != null) {
                    acc += dSkip[dd] * uu[dd];
                }
                if (z != null) {
                    acc *= ScanIo.silu(zz[dd]);
                }
                y[dd] = acc;
            }
            ScanIo.store(out, t, 0, d, y, 0);
        }
        for (int dd = 0; dd < d; dd++) {
            ScanIo.store(states, (long) slot * d + dd, 0, n, h, dd * n);
        }
    }

    /** The SIMD form for channels [d0, d0+nd) of one sequence. */
    void simdBlock(int start, int len, int slot, boolean init, int d0, int nd) {
        float[] h = new float[nd * n];
        if (init) {
            for (int j = 0; j < nd; j++) {
                ScanIo.load(states, (long) slot * d + d0 + j, 0, n, h, j * n);
            }
        }
        float[] uu = new float[nd], dl = new float[nd], zz = new float[nd], y = new float[nd];
        float[] bb = new float[n], cc = new float[n], ea = new float[n];
        int ub = ScanIo.vectorBound(n);
        for (int t = start; t < start + len; t++) {
            ScanIo.load(u, t, d0, nd, uu, 0);
            ScanIo.load(delta, t, d0, nd, dl, 0);
            if (z != null) {
                ScanIo.load(z, t, d0, nd, zz, 0);
            }
            ScanIo.load(B, t, 0, n, bb, 0);
            ScanIo.load(C, t, 0, n, cc, 0);
            for (int j = 0; j < nd; j++) {
                int dd = d0 + j;
                float dt = delta(dl[j], dd);
                float uj = uu[j];
                FloatVector accv = FloatVector.zero(ScanIo.SPECIES);
                for (int s = 0; s < ub; s += ScanIo.LANES) {
                    FloatVector.fromArray(ScanIo.SPECIES, a, dd * n + s).mul(dt).intoArray(ea, s);
                }
                if (ub > 0) {
                    VectorMath.exp(ea, ub); // not lanewise(EXP): its bits depend on the JIT tier
                }
                int s = 0;
                for (; s < ub; s += ScanIo.LANES) {
                    FloatVector dA = FloatVector.fromArray(ScanIo.SPECIES, ea, s);
                    FloatVector hv = FloatVector.fromArray(ScanIo.SPECIES, h, j * n + s);
                    FloatVector bu = FloatVector.fromArray(ScanIo.SPECIES, bb, s).mul(dt).mul(uj);
                    hv = dA.mul(hv).add(bu);
                    hv.intoArray(h, j * n + s);
                    accv = accv.add(hv.mul(FloatVector.fromArray(ScanIo.SPECIES, cc, s)));
                }
                float acc = ScanIo.sumLanes(accv);
                for (; s < n; s++) {
                    int i = j * n + s;
                    h[i] = (float) Math.exp(dt * a[dd * n + s]) * h[i] + (dt * bb[s]) * uj;
                    acc += h[i] * cc[s];
                }
                if (dSkip != null) {
                    acc += dSkip[dd] * uj;
                }
                if (z != null) {
                    acc *= ScanIo.silu(zz[j]);
                }
                y[j] = acc;
            }
            ScanIo.store(out, t, d0, nd, y, 0);
        }
        for (int j = 0; j < nd; j++) {
            ScanIo.store(states, (long) slot * d + d0 + j, 0, n, h, j * n);
        }
    }
}
