package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link PagedAttention}: flat batches mixing one-token decodes, prefills and
 * chunked prefills that continue from cache, over a paged cache with shuffled blocks, block sizes
 * 16 and odd, head sizes 64..256, GQA 1/2/4/8, sliding windows shorter and longer than the
 * sequences, soft-cap on/off. Every cache slot no sequence references holds garbage (NaN, ±6e4,
 * values up to ±100), and unused block-table columns point at garbage blocks, so reading past a
 * sequence shows up in the output.
 *
 * <p>Tolerance (NMSE over the output, by out's dtype): both sides compute scores, softmax and the
 * weighted sum in f32 from identical inputs, differing only in summation order and exp/tanh ulps:
 * NMSE ≈ 1e-14 in f32 (limit 1e-10). A narrow output adds the flips of its final rounding where the
 * two f32 values straddle a rounding boundary, one ulp (2^-8 relative for bf16, 2^-11 for f16) on
 * a few elements: over 1000 generated cases the worst was 1.2e-8 (bf16) and 2.4e-10 (f16), for the
 * CPU SIMD form and for an f64 implementation alike. Limits 3e-7 and 1e-8; rounding the
 * probabilities to bf16 before the weighted sum would give ≈ 1e-6.
 */
public final class PagedAttentionSpec extends OpSpec<PagedAttentionSpec.Case> {

    /** One sequence: qLen new tokens after {@code cached} tokens already in the cache. */
    public record Seq(int qLen, int cached) {
        int seqLen() {
            return cached + qLen;
        }

        @Override
        public String toString() {
            if (qLen == 1) {
                return "d" + seqLen(); // decode with seqLen tokens
            }
            return cached == 0 ? "p" + qLen : "c" + qLen + "@" + seqLen(); // prefill / chunk ending at seqLen
        }
    }

    /**
     * @param gqa      query heads per KV head
     * @param window   sliding window (0 = none)
     * @param softCap  logit soft-cap (0 = none)
     * @param fusedQ   q is a strided view into a [T, (H + 2Hk)·D] projection
     */
    public record Case(List<Seq> seqs, int blockSize, int headSize, int kvHeads, int gqa, int window, float softCap,
            DType qType, DType cacheType, DType outType, boolean fusedQ) {
    }

    @Override
    public OpKind op() {
        return OpKind.PAGED_ATTENTION;
    }

    /** Lengths around block sizes (5, 16) and vector widths, kept short so the scalar form runs in ms. */
    private static Gen<Integer> lengths() {
        return Gens.size(1, 48, 1, 2, 4, 5, 6, 9, 15, 16, 17, 31, 32, 33, 47);
    }

    /**
     * Decode (one token after 0..80 cached, or around 512 and 1030: the SIMD form's key partitions),
     * prefill, or a chunk continuing from cache.
     */
    static Gen<Seq> seq() {
        Gen<Integer> cachedLens = Gens.size(0, 80, 1, 4, 5, 15, 16, 17, 40, 80).mix(Gens.oneOf(512, 511, 513, 1030), 10);
        return Gens.oneOf(0, 1, 2).zip(lengths(), cachedLens,
                (kind, len, cached) -> switch (kind) {
                    case 0 -> new Seq(1, cached);
                    case 1 -> new Seq(len, 0);
                    default -> new Seq(Math.max(2, len / 2), Math.max(1, cached / 2));
                });
    }

    @Override
    public Gen<Case> cases() {
        Gen<List<Seq>> seqs = SourceDSL.lists().of(seq()).ofSizeBetween(1, 4);
        Gen<Integer> block = Gens.oneOf(16, 5, 1, 17, 32, 3);
        Gen<Integer> head = Gens.oneOf(64, 80, 96, 128, 256, 8, 17);
        Gen<Integer> gqa = Gens.oneOf(1, 2, 4, 8);
        // bits: 0-2 window, 3-4 q dtype, 5 cache dtype differs, 6-7 cache dtype, 8 f32 out, 9 two KV heads,
        // 10 soft-cap, 11 fused q; all zero (the shrink target) = no window, f32, one KV head
        Gen<Integer> flags = SourceDSL.integers().between(0, (1 << 12) - 1);
        return seqs.zip(block, head, gqa, flags, (s, b, d, g, f) -> {
            int window = new int[] {0, 0, 1, 3, 8, 17, 33, 500}[f & 7];
            DType[] dts = {DType.F32, DType.BF16, DType.F16};
            DType q = dts[((f >> 3) & 3) % 3];
            DType cache = (f & 32) != 0 ? dts[((f >> 6) & 3) % 3] : q;
            DType out = (f & 256) != 0 ? DType.F32 : q;
            int kv = (f & 512) != 0 && g <= 4 ? 2 : 1; // at most 8 query heads: the scalar form stays fast
            return new Case(s, b, d, kv, g, window, (f & 1024) != 0 ? 1.5f : 0f, q, cache, out,
                    (f & 2048) != 0);
        });
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                // an empty batch (no sequences, no tokens)
                new Case(List.of(), 16, 64, 1, 1, 0, 0f, DType.F32, DType.F32, DType.F32, false),
                // decodes mixed with a long prefill and a chunk continuing from cache, GQA 4, block 16
                new Case(List.of(new Seq(1, 60), new Seq(40, 0), new Seq(1, 0), new Seq(7, 30)), 16, 128, 2, 4, 0, 0f,
                        DType.F32, DType.F32, DType.F32, false),
                // odd block size, bf16, window shorter than the sequences, soft-cap
                new Case(List.of(new Seq(33, 0), new Seq(1, 47)), 5, 80, 1, 8, 7, 1.5f, DType.BF16, DType.BF16,
                        DType.BF16, true),
                // window longer than every sequence, f16 cache under f32 queries, MHA
                new Case(List.of(new Seq(17, 16), new Seq(1, 16)), 16, 64, 2, 1, 500, 0f, DType.F32, DType.F16,
                        DType.F32, false),
                // head size 256, GQA 2, window 1 (only the current token), block size 1
                new Case(List.of(new Seq(9, 0), new Seq(1, 3)), 1, 256, 1, 2, 1, 0f, DType.F16, DType.F16, DType.F16,
                        false),
                // head size 96, a single decode at a block boundary
                new Case(List.of(new Seq(1, 32)), 16, 96, 2, 4, 0, 0f, DType.BF16, DType.BF16, DType.F32, false),
                // long contexts across the SIMD form's 512-key partitions: a decode over three, a 17-query
                // chunk over two, a decode of exactly 512; then a window inside a long context
                new Case(List.of(new Seq(1, 1029), new Seq(17, 513), new Seq(1, 511)), 16, 64, 1, 2, 0, 0f, DType.F32,
                        DType.BF16, DType.F32, false),
                new Case(List.of(new Seq(1, 700), new Seq(5, 600)), 5, 128, 1, 4, 300, 1.5f, DType.BF16, DType.BF16,
                        DType.BF16, false),
                // batches of decodes only (a backend may have a separate decode form): long and short
                // contexts in one batch (key splits), a first token with nothing cached, GQA 8
                new Case(List.of(new Seq(1, 1029), new Seq(1, 0), new Seq(1, 200), new Seq(1, 33)), 16, 64, 1, 8, 0,
                        0f, DType.BF16, DType.BF16, DType.BF16, false),
                // head size 17 (no vector loads), f16 cache under f32 queries, window and soft-cap, two KV heads
                new Case(List.of(new Seq(1, 80), new Seq(1, 5)), 5, 17, 2, 2, 8, 1.5f, DType.F32, DType.F16,
                        DType.F32, false),
                // MHA, f32 everywhere, odd block size
                new Case(List.of(new Seq(1, 47), new Seq(1, 16), new Seq(1, 513)), 3, 80, 2, 1, 0, 0f, DType.F32,
                        DType.F32, DType.F32, true),
                // a wide decode batch: 40 sequences x 4 KV heads = 160 (sequence, head) pairs, enough to fill
                // a GPU with one block each (the CUDA backend's decode form), contexts 1 to 118
                new Case(wideDecodeBatch(40), 16, 64, 4, 2, 0, 0f, DType.BF16, DType.BF16, DType.BF16, false));
    }

    private static List<Seq> wideDecodeBatch(int n) {
        List<Seq> seqs = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            seqs.add(new Seq(1, 3 * i));
        }
        return seqs;
    }

    @Override
    public String name(Case c) {
        StringBuilder sb = new StringBuilder("paged_attention[T=");
        if (c.seqs().isEmpty()) {
            sb.append("0");
        }
        for (int i = 0; i < c.seqs().size(); i++) {
            sb.append(i == 0 ? "" : "+").append(c.seqs().get(i));
        }
        sb.append(",hd=").append(c.headSize()).append(",kv=").append(c.kvHeads()).append(",gqa=").append(c.gqa())
                .append(",B=").append(c.blockSize());
        if (c.window() > 0) {
            sb.append(",win=").append(c.window());
        }
        if (c.softCap() > 0) {
            sb.append(",cap=").append(c.softCap());
        }
        sb.append(",").append(dt(c.qType()));
        if (c.cacheType() != c.qType()) {
            sb.append(",cache=").append(dt(c.cacheType()));
        }
        if (c.outType() != c.qType()) {
            sb.append(",out=").append(dt(c.outType()));
        }
        return sb.append(c.fusedQ() ? ",fused" : "").append("]").toString();
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.qType()) + (c.cacheType() != c.qType() ? "/cache=" + dt(c.cacheType()) : "");
    }

    static String dt(DType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int n = c.seqs().size(), bs = c.blockSize(), d = c.headSize(), hk = c.kvHeads(), heads = hk * c.gqa();
        int[] qStart = new int[n + 1], seqLens = new int[n];
        int maxBlocks = 1, used = 0, maxQ = 0, maxL = 0;
        for (int i = 0; i < n; i++) {
            Seq s = c.seqs().get(i);
            qStart[i + 1] = qStart[i] + s.qLen();
            seqLens[i] = s.seqLen();
            int need = (s.seqLen() + bs - 1) / bs;
            maxBlocks = Math.max(maxBlocks, need + 1); // a spare column pointing at garbage
            used += need;
            maxQ = Math.max(maxQ, s.qLen());
            maxL = Math.max(maxL, s.seqLen());
        }
        int garbageBlocks = 2, blocks = used + garbageBlocks, tokens = qStart[n];
        SplittableRandom r = b.random();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new java.util.Random(r.nextLong()));
        int[] table = new int[n * maxBlocks];
        boolean[] referenced = new boolean[blocks * bs];
        for (int i = 0, next = 0; i < n; i++) {
            int need = (seqLens[i] + bs - 1) / bs;
            for (int col = 0; col < maxBlocks; col++) {
                table[i * maxBlocks + col] = col < need ? order.get(next++) : order.get(blocks - 1 - col % garbageBlocks);
            }
            for (int j = 0; j < seqLens[i]; j++) {
                referenced[table[i * maxBlocks + j / bs] * bs + j % bs] = true;
            }
        }
        Tensor q;
        if (c.fusedQ()) {
            q = b.input(c.qType(), -2, 2, tokens, (heads + 2 * hk) * d).narrowLast(0, heads * d);
        } else {
            q = b.input(c.qType(), -2, 2, tokens, heads * d);
        }
        Tensor kCache = b.input(c.cacheType(), cache(r, blocks * bs, hk * d, referenced), blocks, bs, hk, d);
        Tensor vCache = b.input(c.cacheType(), cache(r, blocks * bs, hk * d, referenced), blocks, bs, hk, d);
        Tensor out = b.output(c.outType(), tokens, heads * d);
        PagedAttention a = new PagedAttention(q, kCache, vCache, out, b.ints(qStart, n + 1), b.ints(seqLens, n),
                b.ints(table, n, maxBlocks), heads, hk, d, (float) (1 / Math.sqrt(d)), c.window(), c.softCap(), maxQ,
                maxL);
        return b.build(a, new Checked("out", out, tolerance(c.outType()), null));
    }

    /** Per slot of `width` values: uniform [-1, 1) where referenced, else garbage. */
    private static float[] cache(SplittableRandom r, int slots, int width, boolean[] referenced) {
        float[] v = new float[slots * width];
        for (int i = 0; i < v.length; i++) {
            if (referenced[i / width]) {
                v[i] = (float) r.nextDouble(-1, 1);
            } else {
                int kind = r.nextInt(4);
                v[i] = kind == 0 ? Float.NaN : kind == 1 ? 6e4f : kind == 2 ? -6e4f : (float) r.nextDouble(-100, 100);
            }
        }
        return v;
    }

    /** See the class comment. */
    static Tolerance tolerance(DType out) {
        return Tolerance.nmse(switch (out) {
            case BF16 -> 3e-7;
            case F16 -> 1e-8;
            default -> 1e-10;
        });
    }

    /** Query-key pairs the mask allows, summed over the batch. */
    static double pairs(Case c) {
        double p = 0;
        for (Seq s : c.seqs()) {
            for (int i = 0; i < s.qLen(); i++) {
                int pos = s.cached() + i;
                p += c.window() > 0 ? Math.min(pos + 1, c.window()) : pos + 1;
            }
        }
        return p;
    }

    @Override
    public double flops(Case c) {
        return 4.0 * pairs(c) * c.kvHeads() * c.gqa() * c.headSize(); // q·k and p·v, 2 flops per mac
    }

    @Override
    public double bytes(Case c) {
        double tokens = c.seqs().stream().mapToInt(Seq::qLen).sum();
        double cached = c.seqs().stream().mapToInt(Seq::seqLen).sum();
        int hd = c.kvHeads() * c.gqa() * c.headSize();
        return tokens * hd * (c.qType().byteSize() + c.outType().byteSize())
                + 2 * cached * c.kvHeads() * c.headSize() * c.cacheType().byteSize();
    }
}
