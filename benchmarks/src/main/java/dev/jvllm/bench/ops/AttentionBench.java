package dev.jvllm.bench.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.PagedAttention;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Paged attention with Llama-3.2-1B's heads (32 query heads, 8 KV heads, D = 64), f32 cache, block
 * size 16, blocks in shuffled order (as a block manager hands them out): a decode step over a long
 * context ({@code decode-L}: one query, L cached tokens) and a prefill ({@code prefill-T}: T queries
 * over themselves, causal).
 */
@Warmup(iterations = 5, time = 2) // big kernels: C2 takes a while, and interpreted calls take seconds
public class AttentionBench extends OpBench {
    static final int HEADS = 32, KV_HEADS = 8, D = 64, BLOCK = 16;

    @Param({"decode-4096", "decode-16384", "prefill-512", "prefill-2048"})
    public String kind;

    private PagedAttention args;

    @Setup
    public void setup() {
        open();
        boolean decode = kind.startsWith("decode");
        int len = Integer.parseInt(kind.substring(kind.indexOf('-') + 1));
        int queries = decode ? 1 : len;
        int blocks = (len + BLOCK - 1) / BLOCK;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        for (int i = blocks - 1; i > 0; i--) { // a shuffled block table
            int j = random.nextInt(i + 1);
            int tmp = table[i];
            table[i] = table[j];
            table[j] = tmp;
        }
        Tensor q = random(DType.F32, queries, HEADS * D);
        Tensor k = random(DType.F32, blocks, BLOCK, KV_HEADS, D);
        Tensor v = random(DType.F32, blocks, BLOCK, KV_HEADS, D);
        args = new PagedAttention(q, k, v, zeros(DType.F32, queries, HEADS * D), ints(new int[] {0, queries}, 2),
                ints(new int[] {len}, 1), ints(table, 1, blocks), HEADS, KV_HEADS, D, (float) (1 / Math.sqrt(D)), 0, 0f,
                queries, len);
    }

    @Benchmark
    public Tensor attention() {
        backend.pagedAttention(args);
        return args.out();
    }

    /** {flops, bytes}: 4·H·D per (query, key) pair; the K and V cache read once, q and out. */
    public static double[] work(String method, Map<String, String> p) {
        String kind = p.get("kind");
        double len = Double.parseDouble(kind.substring(kind.indexOf('-') + 1));
        double queries = kind.startsWith("decode") ? 1 : len;
        double pairs = kind.startsWith("decode") ? len : len * (len + 1) / 2;
        return new double[] {4.0 * HEADS * D * pairs, 2 * len * KV_HEADS * D * 4 + 2 * queries * HEADS * D * 4};
    }
}
