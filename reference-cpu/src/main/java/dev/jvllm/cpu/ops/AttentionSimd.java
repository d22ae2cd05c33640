package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD form of {@link PagedAttentionKernel}.
 *
 * <p>Keys are split into partitions of {@value #PARTITION} positions (absolute: keys
 * [k·P, (k+1)·P)). Per row (query, head) and partition: scores for the row's allowed keys, max
 * {@code m_k}, {@code e_j = exp(s_j − m_k)} ({@link AttentionMath#exp}), {@code sum_k}, and
 * {@code o_k = Σ_j e_j v_j}. Partitions fold in ascending k into (M, sum, o):
 * {@code M' = max(M, m_k)}, {@code sum = sum·e^{M−M'} + sum_k·e^{m_k−M'}}, likewise o; finally
 * {@code out = o / sum}. With one partition this is the plain two-pass softmax.
 *
 * <p>Work unit: (sequence b, run of KV heads, block of queries, run of partitions). Its rows are
 * the (query, head) pairs of the query heads that read those KV heads (G = numHeads / numKvHeads
 * per KV head), so every key and value row is streamed once per unit for all of them. A sequence
 * with few queries (a decode) gets one unit per partition covering all KV heads, so each token's
 * [Hk, D] cache row is read as one contiguous run (a per-KV-head unit would touch every 4 KB
 * page for 512 bytes), and its partials (m_k, sum_k, o_k) are folded by a second pass; prefill
 * blocks take one KV head each and fold inside the unit. Keys go in tiles (converted to f32 first
 * when the cache is BF16/F16); rows go in groups of four sharing each loaded key or value vector.
 *
 * <p>Determinism: each dot product is the same sequence of lane-wise fmas over d, then a fixed
 * lane-sum tree, then the tail; each output lane accumulates {@code fma(e_j, v_jd, acc)} for j
 * ascending; each row's sum runs from its first key in the partition; partitions fold in order
 * with the same arithmetic in both places. None of this depends on tiles, row groups, query
 * blocks, units or threads, so a query's output depends only on its own inputs.
 */
final class AttentionSimd {
    private static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SP.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Queries per unit. */
    private static final int MAX_QUERY_BLOCK = 16;
    /** Key positions per partition (part of the numerics: see the class comment). */
    static final int PARTITION = 512;
    /** Floats of partials one call may hold (split units); beyond it sequences fold in their units. */
    private static final long PARTIAL_BUDGET = 1 << 24;

    private AttentionSimd() {
    }

    /** Per-thread scratch, grown on demand. */
    private static final class Scratch {
        float[] q = new float[0], o = new float[0], acc = new float[0], s = new float[0], row = new float[0];
        float[] sum = new float[0], max = new float[0], state = new float[0];
        final float[] lane = new float[LANES];
        int[] lo = new int[0], hi = new int[0], clo = new int[0], chi = new int[0];
        long[] off = new long[0];
        MemorySegment tile = MemorySegment.NULL;

        void ensure(int rows, int d, int tileKeys) {
            if (q.length < rows * d) {
                q = new float[rows * d];
                o = new float[rows * d];
                acc = new float[rows * d];
            }
            if (row.length < d) {
                row = new float[d];
            }
            if (sum.length < rows) {
                sum = new float[rows];
                max = new float[rows];
                state = new float[2 * rows];
                lo = new int[rows];
                hi = new int[rows];
                clo = new int[rows];
                chi = new int[rows];
            }
            if (off.length < tileKeys) {
                off = new long[tileKeys];
            }
            if (tile.byteSize() < 4L * tileKeys * d) {
                tile = Arena.ofAuto().allocate(4L * tileKeys * d, 64);
            }
        }

        void ensureScores(long n) {
            if (s.length < n) {
                s = new float[Math.toIntExact(n)];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /** The calling thread's partials buffer, kept between calls (one per layer and step otherwise). */
    private static final ThreadLocal<float[]> PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] partialBuffer(int n) {
        float[] b = PARTIALS.get();
        if (b.length < n) {
            b = new float[n];
            PARTIALS.set(b);
        }
        return b;
    }

    /**
     * Where the units of one split sequence leave their partials: for query i, head h, partition
     * index k (from the sequence's first partition), {@code [m_k, sum_k, o_k[0..D)]} at
     * {@code base + ((i · H + h) · parts + k) · (D + 2)}.
     */
    private record Partials(float[] buf, int base, int firstPart, int parts) {
        int at(int query, int head, int k, int heads, int d) {
            return base + ((query * heads + head) * parts + k - firstPart) * (d + 2);
        }
    }

    static void run(PagedAttention a, AttentionBatch batch, CpuContext ctx) {
        int heads = a.numHeads(), kvHeads = a.numKvHeads(), d = a.headSize();
        int tokens = a.q().dim(0);
        for (int t = 0; t < tokens; t++) { // rows of no sequence are zero
            if (t < batch.qStart()[0] || t >= batch.qStart()[batch.numSeqs()]) {
                zeroRow(a.out(), t, 0, heads * d);
            }
        }
        // per sequence: first/last partition, whether its partitions run as separate units
        int n = batch.numSeqs();
        int[] k0 = new int[n], k1 = new int[n];
        boolean[] split = new boolean[n];
        int baseUnits = 0; // units over all KV heads at once
        long splitFloats = 0;
        for (int b = 0; b < n; b++) {
            int qLen = batch.queryLen(b), len = batch.seqLen()[b];
            int firstPos = len - qLen; // position of the first query
            if (qLen == 0 || len - 1 < 0) {
                for (int i = 0; i < qLen; i++) {
                    zeroRow(a.out(), batch.qStart()[b] + i, 0, heads * d);
                }
                k0[b] = 0;
                k1[b] = -1;
                continue;
            }
            k0[b] = AttentionBatch.firstKey(Math.max(0, firstPos), a.slidingWindow()) / PARTITION;
            k1[b] = (len - 1) / PARTITION;
            // split decodes while their partials fit the budget; the others fold in their units (same bits)
            long need = (long) qLen * heads * (k1[b] - k0[b] + 1) * (d + 2);
            split[b] = qLen <= MAX_QUERY_BLOCK && k1[b] > k0[b] && splitFloats + need <= PARTIAL_BUDGET;
            splitFloats += split[b] ? need : 0;
            baseUnits += split[b] ? k1[b] - k0[b] + 1 : kvHeads * ((qLen + MAX_QUERY_BLOCK - 1) / MAX_QUERY_BLOCK);
        }
        // KV heads per unit. Decodes (split sequences): all of them, so each token's [Hk, D] row is read
        // as one contiguous run, unless that leaves too few units for the pool. Prefill blocks: one, as
        // each key row already serves a block of queries. Results do not depend on this choice (rows
        // are independent), only the scheduling does.
        int chunks = Math.max(1, Math.min(kvHeads, (4 * ctx.threads() + Math.max(1, baseUnits) - 1)
                / Math.max(1, baseUnits)));
        int splitPerChunk = (kvHeads + chunks - 1) / chunks;
        java.util.List<int[]> units = new java.util.ArrayList<>(); // (b, g0, g1, i0, i1, k0, k1, partials or -1)
        java.util.List<Partials> partials = new java.util.ArrayList<>();
        java.util.List<int[]> merges = new java.util.ArrayList<>(); // (partials index, b, g0, g1)
        int partialFloats = 0;
        for (int b = 0; b < n; b++) {
            int qLen = batch.queryLen(b);
            if (k1[b] < k0[b]) {
                continue;
            }
            int pi = -1;
            if (split[b]) {
                pi = partials.size();
                partials.add(new Partials(null, partialFloats, k0[b], k1[b] - k0[b] + 1));
                partialFloats += qLen * heads * (k1[b] - k0[b] + 1) * (d + 2);
            }
            int perChunk = split[b] ? splitPerChunk : 1;
            for (int g0 = 0; g0 < kvHeads; g0 += perChunk) {
                int g1 = Math.min(kvHeads, g0 + perChunk);
                if (split[b]) {
                    merges.add(new int[] {pi, b, g0, g1});
                    for (int k = k0[b]; k <= k1[b]; k++) {
                        units.add(new int[] {b, g0, g1, 0, qLen, k, k, pi});
                    }
                } else {
                    for (int i0 = 0; i0 < qLen; i0 += MAX_QUERY_BLOCK) {
                        units.add(new int[] {b, g0, g1, i0, Math.min(qLen, i0 + MAX_QUERY_BLOCK), k0[b], k1[b], -1});
                    }
                }
            }
        }
        float[] buf = partialFloats == 0 ? null : partialBuffer(partialFloats); // every slot merge reads is written
        Partials[] ps = partials.stream().map(p -> new Partials(buf, p.base(), p.firstPart(), p.parts()))
                .toArray(Partials[]::new);
        ctx.pool().forEach(units.size(), u -> {
            int[] x = units.get(u);
            unit(a, batch, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7] < 0 ? null : ps[x[7]], SCRATCH.get());
        });
        ctx.pool().forEach(merges.size(), u -> {
            int[] x = merges.get(u);
            for (int g = x[2]; g < x[3]; g++) {
                merge(a, batch, x[1], g, ps[x[0]], SCRATCH.get());
            }
        });
    }

    /**
     * Queries [i0, i1) of sequence b, every query head of KV heads [g0, g1), partitions [k0, k1]:
     * folded and written to out, or (sink != null) left as partials. Row m: KV head
     * {@code g0 + m / (nq·G)}, query {@code i0 + (m / G) % nq}, head {@code (g0 + m / (nq·G))·G + m % G}.
     */
    private static void unit(PagedAttention a, AttentionBatch batch, int b, int g0, int g1, int i0, int i1, int k0,
            int k1, Partials sink, Scratch w) {
        int d = a.headSize(), heads = a.numHeads();
        int group = heads / a.numKvHeads();
        int len = batch.seqLen()[b], qLen = batch.queryLen(b);
        int nq = i1 - i0, perKv = nq * group, rows = (g1 - g0) * perKv;
        int tileKeys = Math.max(16, 4096 / d);
        w.ensure(rows, d, tileKeys);
        float[] q = w.q, o = w.o, acc = w.acc, state = w.state;
        int[] lo = w.lo, hi = w.hi, clo = w.clo, chi = w.chi;
        for (int m = 0; m < rows; m++) {
            int qi = (m / group) % nq, head = (g0 + m / perKv) * group + m % group;
            int p = len - qLen + i0 + qi;
            lo[m] = AttentionBatch.firstKey(p, a.slidingWindow());
            hi[m] = p; // empty when p < 0
            loadRow(a.q(), batch.qStart()[b] + i0 + qi, head * d, q, m * d, d);
            state[2 * m] = Float.NEGATIVE_INFINITY; // (M, sum) of the fold
            state[2 * m + 1] = 0f;
        }
        if (sink == null) {
            Arrays.fill(acc, 0, rows * d, 0f);
        }
        CpuTensor kc = CpuTensor.of(a.kCache()), vc = CpuTensor.of(a.vCache());
        for (int k = k0; k <= k1; k++) {
            int uLo = Integer.MAX_VALUE, uHi = -1;
            for (int m = 0; m < rows; m++) { // each row's keys inside this partition
                clo[m] = Math.max(lo[m], k * PARTITION);
                chi[m] = Math.min(hi[m], (k + 1) * PARTITION - 1);
                if (clo[m] <= chi[m]) {
                    uLo = Math.min(uLo, clo[m]);
                    uHi = Math.max(uHi, chi[m]);
                }
            }
            if (uHi < 0) {
                continue;
            }
            int span = uHi - uLo + 1; // scores of row m, key j at s[m * span + j - uLo]
            w.ensureScores((long) rows * span);
            float[] s = w.s;
            for (int j0 = uLo; j0 <= uHi; j0 += tileKeys) { // a tile of tokens, all its KV heads
                int j1 = Math.min(uHi + 1, j0 + tileKeys);
                for (int g = g0; g < g1; g++) {
                    MemorySegment ks = tileOffsets(a, kc, batch, b, g, j0, j1, w);
                    qkRows(q, ks, w.off, j0, j1, (g - g0) * perKv, (g - g0 + 1) * perKv, clo, chi, d, a.scale(), s,
                            span, uLo);
                }
            }
            for (int m = 0; m < rows; m++) {
                if (clo[m] <= chi[m]) {
                    w.sum[m] = softmaxRow(s, m * span + clo[m] - uLo, chi[m] - clo[m] + 1, a.softCap(), w.lane, w.max, m);
                }
            }
            Arrays.fill(o, 0, rows * d, 0f);
            for (int j0 = uLo; j0 <= uHi; j0 += tileKeys) {
                int j1 = Math.min(uHi + 1, j0 + tileKeys);
                for (int g = g0; g < g1; g++) {
                    MemorySegment vs = tileOffsets(a, vc, batch, b, g, j0, j1, w);
                    pvRows(o, s, vs, w.off, j0, j1, (g - g0) * perKv, (g - g0 + 1) * perKv, clo, chi, d, span, uLo);
                }
            }
            for (int m = 0; m < rows; m++) {
                if (clo[m] > chi[m]) {
                    continue;
                }
                if (sink == null) {
                    fold(state, 2 * m, acc, m * d, w.max[m], w.sum[m], o, m * d, d);
                } else {
                    int head = (g0 + m / perKv) * group + m % group;
                    int at = sink.at(i0 + (m / group) % nq, head, k, heads, d);
                    sink.buf()[at] = w.max[m];
                    sink.buf()[at + 1] = w.sum[m];
                    System.arraycopy(o, m * d, sink.buf(), at + 2, d);
                }
            }
        }
        if (sink == null) {
            for (int m = 0; m < rows; m++) {
                int head = (g0 + m / perKv) * group + m % group;
                finish(a, batch.qStart()[b] + i0 + (m / group) % nq, head * d, state, 2 * m, acc, m * d, w.row);
            }
        }
    }

    /** Scores of rows [mA, mB) (one KV head) for the tile's keys [j0, j1) within each row's [clo, chi]. */
    private static void qkRows(float[] q, MemorySegment ks, long[] off, int j0, int j1, int mA, int mB, int[] clo,
            int[] chi, int d, float scale, float[] s, int span, int uLo) {
        for (int m0 = mA; m0 < mB; m0 += 4) {
            int mc = Math.min(4, mB - m0);
            int c0 = j0, c1 = j1; // keys every row of the group allows
            for (int r = 0; r < mc; r++) {
                c0 = Math.max(c0, clo[m0 + r]);
                c1 = Math.min(c1, chi[m0 + r] + 1);
            }
            boolean shared = mc == 4 && c0 < c1;
            if (shared) {
                qk4(q, m0 * d, ks, off, j0, c0, c1, d, scale, s, m0 * span - uLo, span);
            }
            for (int r = 0; r < mc; r++) {
                int m = m0 + r;
                int from = Math.max(j0, clo[m]), to = Math.min(j1, chi[m] + 1);
                if (shared) {
                    qk1(q, m * d, ks, off, j0, from, c0, d, scale, s, m * span - uLo);
                    qk1(q, m * d, ks, off, j0, c1, to, d, scale, s, m * span - uLo);
                } else {
                    qk1(q, m * d, ks, off, j0, from, to, d, scale, s, m * span - uLo);
                }
            }
        }
    }

    /** o of rows [mA, mB) (one KV head) += e_j v_j for the tile's keys, j ascending per row. */
    private static void pvRows(float[] o, float[] s, MemorySegment vs, long[] off, int j0, int j1, int mA, int mB,
            int[] clo, int[] chi, int d, int span, int uLo) {
        for (int m0 = mA; m0 < mB; m0 += 4) {
            int mc = Math.min(4, mB - m0);
            int c0 = j0, c1 = j1;
            for (int r = 0; r < mc; r++) {
                c0 = Math.max(c0, clo[m0 + r]);
                c1 = Math.min(c1, chi[m0 + r] + 1);
            }
            boolean shared = mc == 4 && c0 < c1;
            for (int r = 0; r < mc; r++) { // keys before the shared range, then it, then after: j ascending
                int m = m0 + r;
                pv1(o, m * d, s, m * span - uLo, vs, off, j0, Math.max(j0, clo[m]),
                        shared ? c0 : Math.min(j1, chi[m] + 1), d);
            }
            if (shared) {
                pv4(o, m0 * d, s, m0 * span - uLo, span, vs, off, j0, c0, c1, d);
                for (int r = 0; r < mc; r++) {
                    int m = m0 + r;
                    pv1(o, m * d, s, m * span - uLo, vs, off, j0, c1, Math.min(j1, chi[m] + 1), d);
                }
            }
        }
    }

    /** Folds the partials a split sequence's units left, for KV head g, and writes its outputs. */
    private static void merge(PagedAttention a, AttentionBatch batch, int b, int g, Partials p, Scratch w) {
        int d = a.headSize(), heads = a.numHeads(), group = heads / a.numKvHeads();
        int len = batch.seqLen()[b], qLen = batch.queryLen(b);
        w.ensure(1, d, Math.max(16, 4096 / d));
        for (int i = 0; i < qLen; i++) {
            int pos = len - qLen + i;
            for (int h = g * group; h < (g + 1) * group; h++) {
                w.state[0] = Float.NEGATIVE_INFINITY;
                w.state[1] = 0f;
                Arrays.fill(w.acc, 0, d, 0f);
                if (pos >= 0) {
                    int lo = AttentionBatch.firstKey(pos, a.slidingWindow());
                    for (int k = lo / PARTITION; k <= pos / PARTITION; k++) {
                        int at = p.at(i, h, k, heads, d);
                        fold(w.state, 0, w.acc, 0, p.buf()[at], p.buf()[at + 1], p.buf(), at + 2, d);
                    }
                }
                finish(a, batch.qStart()[b] + i, h * d, w.state, 0, w.acc, 0, w.row);
            }
        }
    }

    /**
     * (M, sum) at state[si..si+2) and o at acc[ao..ao+d) take in a partition (mk, sk, ok):
     * {@code M' = max(M, mk)}, {@code α = e^{M−M'}}, {@code β = e^{mk−M'}}, {@code sum = sum·α + sk·β},
     * {@code o = o·α + ok·β}. The first fold (M = −∞) gives α = 0, β = 1: a plain copy.
     */
    private static void fold(float[] state, int si, float[] acc, int ao, float mk, float sk, float[] ok, int ko, int d) {
        float m = state[si];
        float mNew = Math.max(m, mk);
        float alpha = AttentionMath.exp(m - mNew), beta = AttentionMath.exp(mk - mNew);
        state[si] = mNew;
        state[si + 1] = Math.fma(state[si + 1], alpha, sk * beta);
        int vb = SP.loopBound(d), c = 0;
        for (; c < vb; c += LANES) {
            FloatVector x = FloatVector.fromArray(SP, ok, ko + c).mul(beta);
            FloatVector.fromArray(SP, acc, ao + c).fma(FloatVector.broadcast(SP, alpha), x).intoArray(acc, ao + c);
        }
        for (; c < d; c++) {
            acc[ao + c] = Math.fma(acc[ao + c], alpha, ok[ko + c] * beta);
        }
    }

    /** out[t, col..col+d) = o / sum, or zeros when no partition was folded (no allowed key). */
    private static void finish(PagedAttention a, int t, int col, float[] state, int si, float[] acc, int ao,
            float[] row) {
        int d = a.headSize();
        if (state[si] == Float.NEGATIVE_INFINITY && state[si + 1] == 0f) {
            zeroRow(a.out(), t, col, d);
            return;
        }
        float sum = state[si + 1];
        for (int c = 0; c < d; c++) {
            row[c] = acc[ao + c] / sum;
        }
        storeRow(a.out(), t, col, row, d);
    }

    /**
     * Fills {@code w.off[j − j0]} with the byte offset of key/value row j (sequence b, KV head g)
     * and returns the segment they point into: the cache itself for F32, else a tile of f32
     * copies in the scratch.
     */
    private static MemorySegment tileOffsets(PagedAttention a, CpuTensor cache, AttentionBatch batch, int b, int g,
            int j0, int j1, Scratch w) {
        int d = a.headSize(), kvHeads = a.numKvHeads();
        DType dt = cache.dtype();
        long base = cache.layout().byteOffset();
        long rowBytes = (long) d * dt.byteSize();
        for (int j = j0; j < j1; j++) {
            long src = base + ((long) batch.slot(b, j) * kvHeads + g) * rowBytes;
            if (dt == DType.F32) {
                w.off[j - j0] = src;
            } else {
                long dst = 4L * (j - j0) * d;
                AttentionConvert.toF32(cache.storage(), src, dt, w.tile, dst, d);
                w.off[j - j0] = dst;
            }
        }
        return dt == DType.F32 ? cache.storage() : w.tile;
    }

    /** lane i ← lane i + half, for half = LANES/2, LANES/4, ..., 1. */
    private static final VectorShuffle<Float>[] FOLD = folds();

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static VectorShuffle<Float>[] folds() {
        int steps = Integer.numberOfTrailingZeros(LANES);
        VectorShuffle<Float>[] f = new VectorShuffle[steps];
        for (int s = 0, half = LANES / 2; s < steps; s++, half /= 2) {
            int h = half;
            f[s] = VectorShuffle.fromOp(SP, i -> (i + h) % LANES);
        }
        return f;
    }

    /**
     * The sum of the lanes as a fixed pairwise tree (lane i + lane i + LANES/2, and so on) of
     * lane-wise adds: the same bits in every JIT tier, unlike {@code reduceLanes}, whose order is
     * unspecified.
     */
    static float laneSum(FloatVector v) {
        for (VectorShuffle<Float> f : FOLD) {
            v = v.add(v.rearrange(f));
        }
        return v.lane(0);
    }

    /** scale · (q[qo..qo+d) · key j) for the lanes' sums, then the tail. */
    private static float finishDot(FloatVector acc, float[] q, int qo, MemorySegment ks, long ko, int d) {
        float sum = laneSum(acc);
        for (int c = SP.loopBound(d); c < d; c++) {
            sum = Math.fma(q[qo + c], ks.get(F32, ko + 4L * c), sum);
        }
        return sum;
    }

    /** Scores of one row (q at qo) for keys [from, to): s[so + j] = scale · q·k_j. */
    private static void qk1(float[] q, int qo, MemorySegment ks, long[] off, int j0, int from, int to, int d,
            float scale, float[] s, int so) {
        int vb = SP.loopBound(d);
        int j = from;
        for (; j + 1 < to; j += 2) {
            long k0 = off[j - j0], k1 = off[j + 1 - j0];
            FloatVector a0 = FloatVector.zero(SP), a1 = FloatVector.zero(SP);
            for (int c = 0; c < vb; c += LANES) {
                FloatVector x = FloatVector.fromArray(SP, q, qo + c);
                a0 = x.fma(FloatVector.fromMemorySegment(SP, ks, k0 + 4L * c, LE), a0);
                a1 = x.fma(FloatVector.fromMemorySegment(SP, ks, k1 + 4L * c, LE), a1);
            }
            s[so + j] = scale * finishDot(a0, q, qo, ks, k0, d);
            s[so + j + 1] = scale * finishDot(a1, q, qo, ks, k1, d);
        }
        if (j < to) {
            long k0 = off[j - j0];
            FloatVector a0 = FloatVector.zero(SP);
            for (int c = 0; c < vb; c += LANES) {
                a0 = FloatVector.fromArray(SP, q, qo + c).fma(FloatVector.fromMemorySegment(SP, ks, k0 + 4L * c, LE), a0);
            }
            s[so + j] = scale * finishDot(a0, q, qo, ks, k0, d);
        }
    }

    /** Scores of four consecutive rows (q at qo, qo+d, ...; scores at so, so+span, ...) for keys [from, to). */
    private static void qk4(float[] q, int qo, MemorySegment ks, long[] off, int j0, int from, int to, int d,
            float scale, float[] s, int so, int span) {
        int vb = SP.loopBound(d);
        int qa = qo, qb = qo + d, qc = qo + 2 * d, qd = qo + 3 * d;
        int sa = so, sb = so + span, sc = so + 2 * span, sd = so + 3 * span;
        int j = from;
        for (; j + 1 < to; j += 2) {
            long k0 = off[j - j0], k1 = off[j + 1 - j0];
            FloatVector a0 = FloatVector.zero(SP), a1 = FloatVector.zero(SP), b0 = FloatVector.zero(SP),
                    b1 = FloatVector.zero(SP), c0 = FloatVector.zero(SP), c1 = FloatVector.zero(SP),
                    d0 = FloatVector.zero(SP), d1 = FloatVector.zero(SP);
            for (int c = 0; c < vb; c += LANES) {
                FloatVector x0 = FloatVector.fromMemorySegment(SP, ks, k0 + 4L * c, LE);
                FloatVector x1 = FloatVector.fromMemorySegment(SP, ks, k1 + 4L * c, LE);
                FloatVector y = FloatVector.fromArray(SP, q, qa + c);
                a0 = y.fma(x0, a0);
                a1 = y.fma(x1, a1);
                y = FloatVector.fromArray(SP, q, qb + c);
                b0 = y.fma(x0, b0);
                b1 = y.fma(x1, b1);
                y = FloatVector.fromArray(SP, q, qc + c);
                c0 = y.fma(x0, c0);
                c1 = y.fma(x1, c1);
                y = FloatVector.fromArray(SP, q, qd + c);
                d0 = y.fma(x0, d0);
                d1 = y.fma(x1, d1);
            }
            s[sa + j] = scale * finishDot(a0, q, qa, ks, k0, d);
            s[sa + j + 1] = scale * finishDot(a1, q, qa, ks, k1, d);
            s[sb + j] = scale * finishDot(b0, q, qb, ks, k0, d);
            s[sb + j + 1] = scale * finishDot(b1, q, qb, ks, k1, d);
            s[sc + j] = scale * finishDot(c0, q, qc, ks, k0, d);
            s[sc + j + 1] = scale * finishDot(c1, q, qc, ks, k1, d);
            s[sd + j] = scale * finishDot(d0, q, qd, ks, k0, d);
            s[sd + j + 1] = scale * finishDot(d1, q, qd, ks, k1, d);
        }
        if (j < to) {
            long k0 = off[j - j0];
            FloatVector a0 = FloatVector.zero(SP), b0 = FloatVector.zero(SP), c0 = FloatVector.zero(SP),
                    d0 = FloatVector.zero(SP);
            for (int c = 0; c < vb; c += LANES) {
                FloatVector x0 = FloatVector.fromMemorySegment(SP, ks, k0 + 4L * c, LE);
                a0 = FloatVector.fromArray(SP, q, qa + c).fma(x0, a0);
                b0 = FloatVector.fromArray(SP, q, qb + c).fma(x0, b0);
                c0 = FloatVector.fromArray(SP, q, qc + c).fma(x0, c0);
                d0 = FloatVector.fromArray(SP, q, qd + c).fma(x0, d0);
            }
            s[sa + j] = scale * finishDot(a0, q, qa, ks, k0, d);
            s[sb + j] = scale * finishDot(b0, q, qb, ks, k0, d);
            s[sc + j] = scale * finishDot(c0, q, qc, ks, k0, d);
            s[sd + j] = scale * finishDot(d0, q, qd, ks, k0, d);
        }
    }

    /**
     * Soft-cap, max (into maxOut[mi]), e_j = exp(s_j − max) in place, and the sum (lanes from the
     * row's first key, then the tail) of the n scores at s[at..].
     */
    private static float softmaxRow(float[] s, int at, int n, float softCap, float[] lane, float[] maxOut, int mi) {
        int vb = SP.loopBound(n);
        if (softCap > 0) {
            float inv = 1f / softCap;
            for (int i = 0; i < vb; i += LANES) {
                FloatVector x = FloatVector.fromArray(SP, s, at + i);
                AttentionMath.tanh(x.mul(inv)).mul(softCap).intoArray(s, at + i);
            }
            for (int i = vb; i < n; i++) {
                s[at + i] = AttentionMath.tanh(s[at + i] * inv) * softCap;
            }
        }
        float max = Float.NEGATIVE_INFINITY;
        if (vb > 0) {
            FloatVector mv = FloatVector.broadcast(SP, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < vb; i += LANES) {
                mv = mv.max(FloatVector.fromArray(SP, s, at + i));
            }
            mv.intoArray(lane, 0);
            for (int i = 0; i < LANES; i++) {
                max = Math.max(max, lane[i]);
            }
        }
        for (int i = vb; i < n; i++) {
            max = Math.max(max, s[at + i]);
        }
        maxOut[mi] = max;
        FloatVector acc = FloatVector.zero(SP);
        for (int i = 0; i < vb; i += LANES) {
            FloatVector e = AttentionMath.exp(FloatVector.fromArray(SP, s, at + i).sub(max));
            e.intoArray(s, at + i);
            acc = acc.add(e);
        }
        float sum = laneSum(acc);
        for (int i = vb; i < n; i++) {
            s[at + i] = AttentionMath.exp(s[at + i] - max);
            sum += s[at + i];
        }
        return sum;
    }

    /** o[oo..oo+d) += Σ_{j in [from, to)} e[eo + j] · v_j, lane by lane, j ascending. */
    private static void pv1(float[] o, int oo, float[] e, int eo, MemorySegment vs, long[] off, int j0, int from,
            int to, int d) {
        if (from >= to) {
            return;
        }
        int vb = SP.loopBound(d);
        int c = 0;
        for (; c + 2 * LANES <= vb; c += 2 * LANES) {
            FloatVector a0 = FloatVector.fromArray(SP, o, oo + c);
            FloatVector a1 = FloatVector.fromArray(SP, o, oo + c + LANES);
            for (int j = from; j < to; j++) {
                long vo = off[j - j0] + 4L * c;
                FloatVector p = FloatVector.broadcast(SP, e[eo + j]);
                a0 = FloatVector.fromMemorySegment(SP, vs, vo, LE).fma(p, a0);
                a1 = FloatVector.fromMemorySegment(SP, vs, vo + 4L * LANES, LE).fma(p, a1);
            }
            a0.intoArray(o, oo + c);
            a1.intoArray(o, oo + c + LANES);
        }
        for (; c < vb; c += LANES) {
            FloatVector a0 = FloatVector.fromArray(SP, o, oo + c);
            for (int j = from; j < to; j++) {
                a0 = FloatVector.fromMemorySegment(SP, vs, off[j - j0] + 4L * c, LE)
                        .fma(FloatVector.broadcast(SP, e[eo + j]), a0);
            }
            a0.intoArray(o, oo + c);
        }
        for (; c < d; c++) {
            float acc = o[oo + c];
            for (int j = from; j < to; j++) {
                acc = Math.fma(vs.get(F32, off[j - j0] + 4L * c), e[eo + j], acc);
            }
            o[oo + c] = acc;
        }
    }

    /** pv1 for four consecutive rows (o at oo, oo+d, ...; e at eo, eo+span, ...) sharing each value load. */
    private static void pv4(float[] o, int oo, float[] e, int eo, int span, MemorySegment vs, long[] off, int j0,
            int from, int to, int d) {
        int vb = SP.loopBound(d);
        int ea = eo, eb = eo + span, ec = eo + 2 * span, ed = eo + 3 * span;
        int oa = oo, ob = oo + d, oc = oo + 2 * d, od = oo + 3 * d;
        int c = 0;
        for (; c + 2 * LANES <= vb; c += 2 * LANES) {
            int c2 = c + LANES;
            FloatVector a0 = FloatVector.fromArray(SP, o, oa + c), a1 = FloatVector.fromArray(SP, o, oa + c2);
            FloatVector b0 = FloatVector.fromArray(SP, o, ob + c), b1 = FloatVector.fromArray(SP, o, ob + c2);
            FloatVector c0 = FloatVector.fromArray(SP, o, oc + c), c1 = FloatVector.fromArray(SP, o, oc + c2);
            FloatVector d0 = FloatVector.fromArray(SP, o, od + c), d1 = FloatVector.fromArray(SP, o, od + c2);
            for (int j = from; j < to; j++) {
                long vo = off[j - j0] + 4L * c;
                FloatVector x0 = FloatVector.fromMemorySegment(SP, vs, vo, LE);
                FloatVector x1 = FloatVector.fromMemorySegment(SP, vs, vo + 4L * LANES, LE);
                FloatVector p = FloatVector.broadcast(SP, e[ea + j]);
                a0 = x0.fma(p, a0);
                a1 = x1.fma(p, a1);
                p = FloatVector.broadcast(SP, e[eb + j]);
                b0 = x0.fma(p, b0);
                b1 = x1.fma(p, b1);
                p = FloatVector.broadcast(SP, e[ec + j]);
                c0 = x0.fma(p, c0);
                c1 = x1.fma(p, c1);
                p = FloatVector.broadcast(SP, e[ed + j]);
                d0 = x0.fma(p, d0);
                d1 = x1.fma(p, d1);
            }
            a0.intoArray(o, oa + c);
            a1.intoArray(o, oa + c2);
            b0.intoArray(o, ob + c);
            b1.intoArray(o, ob + c2);
            c0.intoArray(o, oc + c);
            c1.intoArray(o, oc + c2);
            d0.intoArray(o, od + c);
            d1.intoArray(o, od + c2);
        }
        for (; c < vb; c += LANES) {
            FloatVector a0 = FloatVector.fromArray(SP, o, oa + c), b0 = FloatVector.fromArray(SP, o, ob + c);
            FloatVector c0 = FloatVector.fromArray(SP, o, oc + c), d0 = FloatVector.fromArray(SP, o, od + c);
            for (int j = from; j < to; j++) {
                FloatVector x0 = FloatVector.fromMemorySegment(SP, vs, off[j - j0] + 4L * c, LE);
                a0 = x0.fma(FloatVector.broadcast(SP, e[ea + j]), a0);
                b0 = x0.fma(FloatVector.broadcast(SP, e[eb + j]), b0);
                c0 = x0.fma(FloatVector.broadcast(SP, e[ec + j]), c0);
                d0 = x0.fma(FloatVector.broadcast(SP, e[ed + j]), d0);
            }
            a0.intoArray(o, oa + c);
            b0.intoArray(o, ob + c);
            c0.intoArray(o, oc + c);
            d0.intoArray(o, od + c);
        }
        for (; c < d; c++) {
            float aa = o[oa + c], ab = o[ob + c], ac = o[oc + c], ad = o[od + c];
            for (int j = from; j < to; j++) {
                float x = vs.get(F32, off[j - j0] + 4L * c);
                aa = Math.fma(x, e[ea + j], aa);
                ab = Math.fma(x, e[eb + j], ab);
                ac = Math.fma(x, e[ec + j], ac);
                ad = Math.fma(x, e[ed + j], ad);
            }
            o[oa + c] = aa;
            o[ob + c] = ab;
            o[oc + c] = ac;
            o[od + c] = ad;
        }
    }

    /** dst[dstOff..+n) = f32(t[row, col..col+n)). */
    private static void loadRow(Tensor t, int row, int col, float[] dst, int dstOff, int n) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment seg = c.storage();
        long base = c.layout().rowByteOffset(row) + (long) col * t.dtype().byteSize();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(seg, F32, base, dst, dstOff, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Numerics.bf16ToF32(seg.get(AttentionConvert.I16, base + 2L * i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Numerics.f16ToF32(seg.get(AttentionConvert.I16, base + 2L * i));
                }
            }
            default -> throw new IllegalArgumentException("paged_attention: unsupported " + t.describe());
        }
    }

    /** t[row, col..col+n) = round(src[0..n)). */
    private static void storeRow(Tensor t, int row, int col, float[] src, int n) {
        CpuTensor c = CpuTensor.of(t);
        MemorySegment seg = c.storage();
        long base = c.layout().rowByteOffset(row) + (long) col * t.dtype().byteSize();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(src, 0, seg, F32, base, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(AttentionConvert.I16, base + 2L * i, Numerics.f32ToBf16(src[i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(AttentionConvert.I16, base + 2L * i, Numerics.f32ToF16(src[i]));
                }
            }
            default -> throw new IllegalArgumentException("paged_attention: unsupported " + t.describe());
        }
    }

    private static void zeroRow(Tensor t, int row, int col, int n) {
        storeRow(t, row, col, new float[n], n);
    }
}
