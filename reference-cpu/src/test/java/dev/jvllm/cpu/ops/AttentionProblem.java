package dev.jvllm.cpu.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.PagedAttention;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A paged-attention batch held on the host (tests and the benchmark): queries, a paged cache with
 * shuffled blocks whose unreferenced slots hold garbage (NaN and huge values), and a naive
 * double-precision evaluation of the {@link PagedAttention} contract.
 */
final class AttentionProblem {
    final int heads, kvHeads, d, blockSize, window;
    final float scale, softCap;
    final int[] qLens, seqLens, qStart, blockTable;
    final int maxBlocks, numBlocks, tokens;
    final DType qType, cacheType, outType;
    final float[] q, k, v; // q: [T, H·D]; k, v: [numBlocks, B, Hk, D] (values as stored)

    /**
     * A random batch: sequence b has qLens[b] new tokens and seqLens[b] tokens in the cache.
     * {@code padTokens} query rows after the last sequence belong to none.
     */
    AttentionProblem(SplittableRandom r, int[] qLens, int[] seqLens, int heads, int kvHeads, int d, int blockSize,
            int window, float softCap, DType qType, DType cacheType, DType outType, int padTokens) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.d = d;
        this.blockSize = blockSize;
        this.window = window;
        this.softCap = softCap;
        this.scale = (float) (1 / Math.sqrt(d));
        this.qLens = qLens.clone();
        this.seqLens = seqLens.clone();
        this.qType = qType;
        this.cacheType = cacheType;
        this.outType = outType;
        int n = qLens.length;
        qStart = new int[n + 1];
        int mb = 1, used = 0;
        for (int b = 0; b < n; b++) {
            qStart[b + 1] = qStart[b] + qLens[b];
            int need = (seqLens[b] + blockSize - 1) / blockSize;
            mb = Math.max(mb, need + 1); // one spare column holding a garbage block id
            used += need;
        }
        maxBlocks = mb;
        numBlocks = used + 3; // three blocks no sequence references
        tokens = qStart[n] + padTokens;
        List<Integer> perm = new ArrayList<>();
        for (int i = 0; i < numBlocks; i++) {
            perm.add(i);
        }
        Collections.shuffle(perm, new java.util.Random(r.nextLong()));
        blockTable = new int[n * maxBlocks];
        int next = 0;
        boolean[] referenced = new boolean[numBlocks * blockSize];
        for (int b = 0; b < n; b++) {
            int need = (seqLens[b] + blockSize - 1) / blockSize;
            for (int i = 0; i < maxBlocks; i++) {
                // unused columns point at some block: attention must not read past seqLen anyway
                blockTable[b * maxBlocks + i] = i < need ? perm.get(next++) : perm.get(numBlocks - 1 - (i % 3));
            }
            for (int j = 0; j < seqLens[b]; j++) {
                referenced[blockTable[b * maxBlocks + j / blockSize] * blockSize + j % blockSize] = true;
            }
        }
        q = values(r, tokens * heads * d, qType, null, 0);
        k = values(r, numBlocks * blockSize * kvHeads * d, cacheType, referenced, kvHeads * d);
        v = values(r, numBlocks * blockSize * kvHeads * d, cacheType, referenced, kvHeads * d);
    }

    /** Uniform [-1, 1) rounded to dtype; slots not referenced get garbage: NaN, ±Inf-ish, huge. */
    private static float[] values(SplittableRandom r, int n, DType t, boolean[] referenced, int perSlot) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            if (referenced != null && !referenced[i / perSlot]) {
                int kind = r.nextInt(4);
                x[i] = kind == 0 ? Float.NaN : kind == 1 ? 6e4f : kind == 2 ? -6e4f : (float) r.nextDouble(-100, 100);
            } else {
                x[i] = Numerics.roundTo(t, (float) r.nextDouble(-1, 1));
            }
        }
        return x;
    }

    int maxQueryLen() {
        return Arrays.stream(qLens).max().orElse(0);
    }

    int maxSeqLen() {
        return Math.max(maxQueryLen(), Arrays.stream(seqLens).max().orElse(0));
    }

    /** The op on backend b; out starts as NaN so unwritten rows show. */
    PagedAttention args(Backend b) {
        Tensor qt = Tensors.fromFloats(b, qType, q, tokens, heads * d);
        Tensor kt = Tensors.fromFloats(b, cacheType, k, numBlocks, blockSize, kvHeads, d);
        Tensor vt = Tensors.fromFloats(b, cacheType, v, numBlocks, blockSize, kvHeads, d);
        Tensor out = b.allocate(outType, tokens, heads * d);
        float[] nan = new float[tokens * heads * d];
        Arrays.fill(nan, Float.NaN);
        Tensors.writeFloats(out, nan);
        return new PagedAttention(qt, kt, vt, out, Tensors.fromInts(b, qStart, qLens.length + 1),
                Tensors.fromInts(b, seqLens, seqLens.length), Tensors.fromInts(b, blockTable, qLens.length, maxBlocks),
                heads, kvHeads, d, scale, window, softCap, maxQueryLen(), maxSeqLen());
    }

    /** The contract in f64: [T, H·D], zeros for rows of no sequence and queries without keys. */
    double[] naive() {
        double[] out = new double[tokens * heads * d];
        int group = heads / kvHeads;
        for (int b = 0; b < qLens.length; b++) {
            int len = seqLens[b];
            for (int i = 0; i < qLens[b]; i++) {
                int t = qStart[b] + i, p = len - qLens[b] + i;
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
                    if (p < 0) {
                        continue;
                    }
                    double[] s = new double[p + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = lo; j <= p; j++) {
                        int base = slot(b, j) * kvHeads * d + g * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) q[t * heads * d + h * d + c] * k[base + c];
                        }
                        s[j] = scale * dot;
                        if (softCap > 0) {
                            s[j] = softCap * Math.tanh(s[j] / softCap);
                        }
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = lo; j <= p; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = lo; j <= p; j++) {
                        int base = slot(b, j) * kvHeads * d + g * d;
                        for (int c = 0; c < d; c++) {
                            out[t * heads * d + h * d + c] += s[j] / sum * v[base + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    int slot(int b, int j) {
        return blockTable[b * maxBlocks + j / blockSize] * blockSize + j % blockSize;
    }
}
