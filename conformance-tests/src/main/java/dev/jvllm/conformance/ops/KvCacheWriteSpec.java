package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link KvCacheWrite}: tokens scattered into a paged cache whose blocks are
 * shuffled, some tokens padded (slot −1), k and v optionally strided views of a fused qkv row.
 * Pure data movement, so the caches must match bit for bit (narrowing rounds to nearest even as
 * {@code Cast} does), and the whole blocks no token writes are declared untouched.
 */
public final class KvCacheWriteSpec extends OpSpec<KvCacheWriteSpec.Case> {

    /**
     * @param tokens     T (0 = an empty batch)
     * @param padEvery   every padEvery-th token is padding (0 = none)
     * @param freeBlocks blocks no token writes (their bytes must stay)
     * @param fused      k and v are views into a [T, (Hq + 2Hk)·D] projection (row stride &gt; width)
     */
    public record Case(int tokens, int padEvery, int blockSize, int kvHeads, int headSize, int freeBlocks,
            DType src, DType cache, boolean fused) {
    }

    @Override
    public OpKind op() {
        return OpKind.KV_CACHE_WRITE;
    }

    private static Gen<DType> dtypes() {
        return Gens.oneOf(DType.F32, DType.BF16, DType.F16);
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> tokens = Gens.size(1, 40, 1, 2, 3, 7, 16, 17, 33);
        Gen<Integer> block = Gens.oneOf(16, 5, 1, 15, 17, 32);
        Gen<Integer> kvHeads = Gens.oneOf(1, 2, 8, 3);
        Gen<Integer> headSize = Gens.size(1, 256, 64, 80, 96, 128, 256, 1, 7, 8, 9, 15, 16, 17);
        Gen<Integer> flags = SourceDSL.integers().between(0, 63); // padEvery (0..3), freeBlocks (1..4), fused
        return tokens.zip(block, kvHeads, headSize, flags, (t, b, hk, d, f) -> new int[] {t, b, hk, d, f})
                .zip(dtypes(), dtypes(), (p, s, c) -> new Case(p[0], (p[4] & 3) == 0 ? 0 : 1 + (p[4] & 3),
                        p[1], p[2], p[3], 1 + ((p[4] >> 2) & 3), s, c, (p[4] & 16) != 0));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(0, 0, 16, 2, 64, 2, DType.F32, DType.F32, false), // empty batch
                new Case(1, 0, 16, 8, 128, 3, DType.BF16, DType.BF16, false), // one decode token
                new Case(7, 3, 5, 2, 80, 2, DType.F32, DType.BF16, true), // rounding into bf16, padded, fused
                new Case(33, 2, 16, 1, 256, 4, DType.F16, DType.F32, false),
                new Case(17, 0, 1, 3, 17, 1, DType.BF16, DType.F16, true));
    }

    @Override
    public String name(Case c) {
        return "kv_cache_write[T=" + c.tokens() + (c.padEvery() > 0 ? ",pad/" + c.padEvery() : "") + ",B="
                + c.blockSize() + ",Hk=" + c.kvHeads() + ",D=" + c.headSize() + ",free=" + c.freeBlocks() + ","
                + dtypeLabel(c) + (c.fused() ? ",fused" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return c.src() == c.cache() ? dt(c.src()) : dt(c.src()) + "→" + dt(c.cache());
    }

    static String dt(DType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), bs = c.blockSize(), width = c.kvHeads() * c.headSize();
        // slots: distinct, spread over ceil(written / B) shuffled blocks plus freeBlocks untouched ones
        int written = 0;
        for (int i = 0; i < t; i++) {
            written += isPad(c, i) ? 0 : 1;
        }
        int usedBlocks = (written + bs - 1) / bs;
        int blocks = usedBlocks + c.freeBlocks();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new java.util.Random(b.random().nextLong()));
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < usedBlocks; i++) {
            for (int o = 0; o < bs; o++) {
                slots.add(order.get(i) * bs + o);
            }
        }
        Collections.shuffle(slots, new java.util.Random(b.random().nextLong()));
        int[] mapping = new int[t];
        boolean[] touched = new boolean[blocks];
        for (int i = 0, next = 0; i < t; i++) {
            mapping[i] = isPad(c, i) ? -1 : slots.get(next++);
            if (mapping[i] >= 0) {
                touched[mapping[i] / bs] = true;
            }
        }
        int[] untouched = java.util.stream.IntStream.range(0, blocks).filter(i -> !touched[i]).toArray();
        Tensor k, v;
        if (c.fused()) { // [T, (Hq + 2Hk)·D] with Hq = 2Hk: k and v are strided column ranges
            Tensor qkv = b.input(c.src(), -3, 3, t, 4 * width);
            k = qkv.narrowLast(2 * width, width);
            v = qkv.narrowLast(3 * width, width);
        } else {
            k = b.input(c.src(), -3, 3, t, width);
            v = b.input(c.src(), -3, 3, t, width);
        }
        // caches start as random garbage; written slots must equal the (rounded) token rows
        Tensor kCache = b.state(c.cache(), -100, 100, blocks, bs, c.kvHeads(), c.headSize());
        Tensor vCache = b.state(c.cache(), -100, 100, blocks, bs, c.kvHeads(), c.headSize());
        return b.build(new KvCacheWrite(k, v, kCache, vCache, b.ints(mapping, t)),
                new Checked("kCache", kCache, Tolerance.BIT_EXACT, untouched),
                new Checked("vCache", vCache, Tolerance.BIT_EXACT, untouched));
    }

    private static boolean isPad(Case c, int i) {
        return c.padEvery() > 0 && i % c.padEvery() == c.padEvery() - 1;
    }

    @Override
    public double bytes(Case c) {
        return 2.0 * c.tokens() * c.kvHeads() * c.headSize() * (c.src().byteSize() + c.cache().byteSize())
                + 4.0 * c.tokens();
    }
}
