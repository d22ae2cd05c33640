package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.Rows;

/**
 * CPU reference for {@link PagedAttention}.
 *
 * <p>Scalar form (the specification, {@link #runScalar}): for every query token and head, the
 * scores {@code s_j = scale · Σ_d q_d k_jd} (f32, d ascending) over the allowed keys, soft-cap,
 * a two-pass softmax in f32 ({@code m = max s_j}, {@code e_j = exp(s_j − m)},
 * {@code sum = Σ e_j}), then {@code out_d = Σ_j (e_j / sum) v_jd} in f32, rounded once.
 *
 * <p>SIMD form ({@link AttentionSimd}): the same math with keys in partitions of 512 positions
 * merged flash-decoding style; work units stream each key and value row once for all query heads
 * sharing its KV head. Every output has a fixed reduction order, so results are bit-identical for
 * any thread count.
 *
 * <p>Both forms write zeros for query rows that belong to no sequence (padding after
 * {@code queryStartLoc[numSeqs]} or before {@code queryStartLoc[0]}) and for queries without an
 * allowed key ({@code seqLen < q_len}).
 */
public final class PagedAttentionKernel {
    private PagedAttentionKernel() {
    }

    public static boolean supports(PagedAttention a) {
        return Rows.isFloat(a.q()) && Rows.isFloat(a.out()) && Rows.isFloat(a.kCache())
                && a.kCache().dtype() == a.vCache().dtype() && a.blockSize() > 0;
    }

    public static void run(PagedAttention a, CpuContext ctx) {
        AttentionBatch batch = AttentionBatch.of(a);
        if (ctx.scalar()) {
            runScalar(a, batch);
        } else {
            AttentionSimd.run(a, batch, ctx);
        }
    }

    /** The specification: the straightforward per-query, per-head loop. */
    static void runScalar(PagedAttention a, AttentionBatch batch) {
        int heads = a.numHeads(), kvHeads = a.numKvHeads(), d = a.headSize();
        int group = heads / kvHeads;
        float[] q = new float[heads * d];
        float[] out = new float[heads * d];
        float[] k = new float[d];
        float[] v = new float[d];
        int tokens = a.q().dim(0);
        for (int t = 0; t < tokens; t++) { // rows of no sequence stay zero
            if (t < batch.qStart()[0] || t >= batch.qStart()[batch.numSeqs()]) {
                Rows.store(a.out(), t, new float[heads * d], 0);
            }
        }
        for (int b = 0; b < batch.numSeqs(); b++) {
            int len = batch.seqLen()[b], qLen = batch.queryLen(b);
            float[] s = new float[Math.max(1, len)];
            for (int i = 0; i < qLen; i++) {
                int t = batch.qStart()[b] + i;
                int p = len - qLen + i; // end-aligned position of this query
                Rows.load(a.q(), t, q, 0);
                java.util.Arrays.fill(out, 0f);
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    int lo = AttentionBatch.firstKey(p, a.slidingWindow());
                    if (p < 0) {
                        continue; // no allowed key: zeros
                    }
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = lo; j <= p; j++) {
                        Rows.load(a.kCache(), (long) batch.slot(b, j) * kvHeads + g, k, 0);
                        float dot = 0f;
                        for (int c = 0; c < d; c++) {
                            dot += q[h * d + c] * k[c];
                        }
                        float sj = a.scale() * dot;
                        if (a.softCap() > 0) {
                            sj = a.softCap() * (float) Math.tanh(sj / a.softCap());
                        }
                        s[j] = sj;
                        max = Math.max(max, sj);
                    }
                    float sum = 0f;
                    for (int j = lo; j <= p; j++) {
                        s[j] = (float) Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = lo; j <= p; j++) {
                        Rows.load(a.vCache(), (long) batch.slot(b, j) * kvHeads + g, v, 0);
                        float pj = s[j] / sum;
                        for (int c = 0; c < d; c++) {
                            out[h * d + c] += pj * v[c];
                        }
                    }
                }
                Rows.store(a.out(), t, out, 0);
            }
        }
    }
}
