package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Embedding;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Embedding} as one shard of a vocab-parallel table: ids below, inside and
 * past the shard (repeats allowed), the table optionally a strided view, rows converted to out's
 * dtype. A lookup plus a cast: bit-exact.
 */
public final class EmbeddingSpec extends OpSpec<EmbeddingSpec.Case> {

    /** @param shard which of 3 equal shards this rank holds (vocabStart = shard · vocab) */
    public record Case(int tokens, int vocab, int hidden, int shard, DType table, DType out, boolean strided) {
    }

    @Override
    public OpKind op() {
        return OpKind.EMBEDDING;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> vocab = Gens.size(1, 64, 1, 2, 7, 16, 17, 63);
        return tokens(40).zip(vocab, widths(769), floats().zip(floats(), (a, o) -> new DType[] {a, o}), flags(3),
                (t, v, h, d, f) -> new Case(t, v, h, (f & 3) % 3, d[0], d[1], bit(f, 2)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(7, 16, 768, 1, DType.BF16, DType.BF16, false), new Case(1, 1, 1, 0, DType.F32, DType.F32, true),
                new Case(17, 5, 129, 2, DType.F32, DType.BF16, true), new Case(3, 7, 64, 0, DType.F16, DType.F32, false));
    }

    @Override
    public String name(Case c) {
        return "embedding[T=" + c.tokens() + ",V=" + c.vocab() + ",H=" + c.hidden() + ",shard=" + c.shard() + "/3,"
                + pair(c.table(), c.out()) + (c.strided() ? ",strided" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.table(), c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int start = c.shard() * c.vocab();
        Tensor table = input(b, c.table(), -1, 1, c.vocab(), c.hidden(), c.strided());
        int[] ids = new int[c.tokens()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = b.random().nextInt(3 * c.vocab()); // the whole vocab: this shard owns a third
        }
        Tensor out = b.output(c.out(), c.tokens(), c.hidden());
        return b.build(new Embedding(b.ints(ids, ids.length), table, start, out),
                new Checked("out", out, Tolerance.BIT_EXACT, null));
    }

    @Override
    public double bytes(Case c) {
        return (double) c.tokens() * c.hidden() * (c.table().byteSize() + c.out().byteSize()) + 4.0 * c.tokens();
    }
}
