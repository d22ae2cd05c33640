package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The SIMD form of {@link MoeExpertsKernel}, fused-MoE style. Per chunk of tokens:
 * <ol>
 *   <li>pairs (t, j) with a valid expert, sorted by expert, then t, then j;</li>
 *   <li>gate/up: units of (expert, block of intermediate rows); each W1/W3 row is dotted with every
 *       routed token of its expert ({@link MoeDot#dot4}), giving {@code a = round_x(act(g)·u)};</li>
 *   <li>down + combine: units of output-column blocks; for experts in ascending id, each W2 row is
 *       dotted with the expert's activations and {@code acc[t, r] = fma(w_tj, y, acc[t, r])};</li>
 *   <li>out = round(acc).</li>
 * </ol>
 * Every output element comes from one unit with an order fixed by the routing alone, so results
 * are bit-identical for any thread count; chunking and grouping do not change them either.
 */
final class MoeSimd {
    /** Intermediate rows per gate/up unit and output rows per down unit. */
    private static final int ROW_BLOCK = 16;
    /** Upper bound on routed activations held per chunk (floats). */
    private static final long ACT_BUDGET = 1 << 22;

    private MoeSimd() {
    }

    /** Per-thread scratch: lane buffer, dot results, an f32 copy of one F16 weight row. */
    private static final class Scratch {
        final float[] lane = new float[MoeDot.LANES];
        float[] res = new float[0];
        MemorySegment row = MemorySegment.NULL;

        MemorySegment row(int n) {
            if (row.byteSize() < 4L * n) {
                row = Arena.ofAuto().allocate(4L * n, 64);
            }
            return row;
        }

        float[] res(int n) {
            if (res.length < n) {
                res = new float[n];
            }
            return res;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static void run(MoeExperts a, CpuContext ctx) {
        int tokens = a.x().dim(0), hidden = a.x().cols(), experts = a.w13().dim(0), inter = a.w13().dim(1) / 2;
        int k = a.topkIds().cols();
        int[] ids = Rows.ints(a.topkIds());
        int chunk = (int) Math.max(1, Math.min(tokens, ACT_BUDGET / Math.max(1L, (long) k * inter)));
        for (int t0 = 0; t0 < tokens; t0 += chunk) {
            int t1 = Math.min(tokens, t0 + chunk);
            runChunk(a, ctx, ids, t0, t1, hidden, experts, inter, k);
        }
    }

    private static void runChunk(MoeExperts a, CpuContext ctx, int[] ids, int t0, int t1, int hidden, int experts,
            int inter, int k) {
        int n = t1 - t0;
        // pairs sorted by expert (counting sort keeps (t, j) order within an expert)
        int[] start = new int[experts + 1];
        for (int t = t0; t < t1; t++) {
            for (int j = 0; j < k; j++) {
                int e = ids[t * k + j];
                if (e >= 0 && e < experts) {
                    start[e + 1]++;
                }
            }
        }
        for (int e = 0; e < experts; e++) {
            start[e + 1] += start[e];
        }
        int pairs = start[experts];
        int[] pairTok = new int[pairs]; // token index within the chunk
        float[] pairW = new float[pairs];
        int[] fill = start.clone();
        for (int t = t0; t < t1; t++) {
            for (int j = 0; j < k; j++) {
                int e = ids[t * k + j];
                if (e >= 0 && e < experts) {
                    int p = fill[e]++;
                    pairTok[p] = t - t0;
                    pairW[p] = Rows.getFloat(a.topkWeights(), (long) t * k + j);
                }
            }
        }
        float[] xs = new float[n * hidden]; // x: [n, H] in f32
        for (int t = t0; t < t1; t++) {
            Rows.load(a.x(), t, xs, (t - t0) * hidden);
        }
        float[] act = new float[Math.toIntExact((long) pairs * inter)]; // a: [pairs, I]
        int iBlocks = (inter + ROW_BLOCK - 1) / ROW_BLOCK;
        int[] active = java.util.stream.IntStream.range(0, experts).filter(e -> start[e + 1] > start[e]).toArray();
        ctx.pool().forEach(active.length * iBlocks, u -> {
            int e = active[u / iBlocks];
            int i0 = (u % iBlocks) * ROW_BLOCK;
            gateUp(a, e, i0, Math.min(inter, i0 + ROW_BLOCK), start[e], start[e + 1], pairTok, xs, act, hidden,
                    inter, SCRATCH.get());
        });
        float[] acc = new float[n * hidden]; // out: [n, H] in f32
        int rBlocks = (hidden + ROW_BLOCK - 1) / ROW_BLOCK;
        ctx.pool().forEach(rBlocks, u -> {
            int r0 = u * ROW_BLOCK;
            down(a, active, start, r0, Math.min(hidden, r0 + ROW_BLOCK), pairTok, pairW, act, acc, hidden, inter,
                    SCRATCH.get());
        });
        for (int t = t0; t < t1; t++) {
            Rows.store(a.out(), t, acc, (t - t0) * hidden);
        }
    }

    /** a[p, i] for the pairs [p0, p1) of expert e and intermediate rows [i0, i1). */
    private static void gateUp(MoeExperts a, int e, int i0, int i1, int p0, int p1, int[] pairTok, float[] xs,
            float[] act, int hidden, int inter, Scratch w) {
        int np = p1 - p0;
        float[] g = w.res(2 * np);
        DType xType = a.x().dtype();
        for (int i = i0; i < i1; i++) {
            dots(a.w13(), (long) e * 2 * inter + i, xs, pairTok, hidden, p0, p1, g, 0, hidden, w);
            dots(a.w13(), (long) e * 2 * inter + inter + i, xs, pairTok, hidden, p0, p1, g, np, hidden, w);
            for (int p = 0; p < np; p++) {
                act[(p0 + p) * inter + i] = Numerics.roundTo(xType, MoeActivation.apply(a.act(), g[p]) * g[np + p]);
            }
        }
    }

    /** acc[t, r] for output rows [r0, r1): experts ascending, their pairs in (t, j) order. */
    private static void down(MoeExperts a, int[] active, int[] start, int r0, int r1, int[] pairTok, float[] pairW,
            float[] act, float[] acc, int hidden, int inter, Scratch w) {
        int[] ident = null;
        for (int e : active) {
            int p0 = start[e], p1 = start[e + 1], np = p1 - p0;
            if (ident == null || ident.length < p1) {
                ident = java.util.stream.IntStream.range(0, start[start.length - 1]).toArray();
            }
            float[] y = w.res(np);
            for (int r = r0; r < r1; r++) {
                dots(a.w2(), (long) e * hidden + r, act, ident, inter, p0, p1, y, 0, inter, w);
                for (int p = 0; p < np; p++) {
                    int at = pairTok[p0 + p] * hidden + r;
                    acc[at] = Math.fma(pairW[p0 + p], y[p], acc[at]);
                }
            }
        }
    }

    /**
     * res[ro + p − p0] = weight row · v[rowOf[p]·stride ..] for p in [p0, p1), n elements: four
     * activation rows at a time, then one.
     */
    private static void dots(Tensor weight, long row, float[] v, int[] rowOf, int stride, int p0, int p1, float[] res,
            int ro, int n, Scratch w) {
        CpuTensor c = CpuTensor.of(weight);
        long wo = c.layout().rowByteOffset(row);
        MemorySegment seg = c.storage();
        if (weight.dtype() == DType.F16) {
            seg = w.row(n);
            MoeDot.f16ToF32(c.storage(), wo, seg, n);
            wo = 0;
        }
        boolean bf16 = MoeDot.isBf16(weight.dtype());
        int p = p0;
        for (; p + 4 <= p1; p += 4) {
            MoeDot.dot4(seg, wo, bf16, v, rowOf[p] * stride, rowOf[p + 1] * stride, rowOf[p + 2] * stride,
                    rowOf[p + 3] * stride, n, res, ro + p - p0, w.lane);
        }
        for (; p < p1; p++) {
            res[ro + p - p0] = MoeDot.dot1(seg, wo, bf16, v, rowOf[p] * stride, n, w.lane);
        }
    }
}
