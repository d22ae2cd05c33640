package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.conformance.ops.SamplingLogits.Pattern;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Penalties}: in-place logits after repetition (prompt ∪ output), frequency
 * and presence (output counts) penalties, token lists padded with −1.
 */
public final class PenaltiesSpec extends OpSpec<PenaltiesSpec.Case> {
    /**
     * |Δ| ≤ 1e-5 + 1e-6·|l|. The reference is a chain of three correctly rounded f32 steps; a
     * candidate may contract {@code l − f·count} into an FMA or divide through a reciprocal, which
     * moves the last bit (≤ 1e-6 relative), and cancellation near 0 turns that into ~1e-6 absolute
     * for |f·count| up to ~10.
     */
    static final Tolerance LOGITS = Tolerance.close(1e-5, 1e-6);

    /** Which penalties are on. */
    public enum Kind {
        /** all three at neutral values (1, 0, 0): logits must come back unchanged */
        NEUTRAL,
        REPETITION, FREQUENCY, PRESENCE,
        /** all three, random per row, some rows neutral */
        ALL;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One case.
     *
     * @param promptLen prompt tokens per row (padded with −1)
     * @param outputLen output tokens per row (padded with −1)
     */
    public record Case(int rows, int vocab, int promptLen, int outputLen, Kind kind) {
    }

    @Override
    public OpKind op() {
        return OpKind.PENALTIES;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> lens = Gens.size(0, 70, 0, 1, 2, 7, 8, 9, 33, 64);
        return SamplingLogits.rows().zip(SamplingLogits.vocab(), lens, lens,
                Gens.oneOf(Kind.ALL, Kind.REPETITION, Kind.FREQUENCY, Kind.PRESENCE, Kind.NEUTRAL), Case::new);
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(1, 1, 1, 1, Kind.ALL),
                new Case(3, 17, 0, 9, Kind.ALL),     // no prompt (decode-only history)
                new Case(2, 33, 8, 0, Kind.REPETITION), // no output yet: only the prompt counts
                new Case(4, 8, 16, 16, Kind.FREQUENCY), // V = 8: every token repeats many times
                new Case(2, 769, 40, 33, Kind.NEUTRAL),
                new Case(1, 32_000, 257, 129, Kind.ALL));
    }

    @Override
    public String name(Case c) {
        return "penalties[B=" + c.rows() + ",V=" + c.vocab() + ",Lp=" + c.promptLen() + ",Lo=" + c.outputLen() + ","
                + c.kind().label() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return "f32";
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int rows = c.rows();
        // in place: a strided, guarded view holding the logits before the op
        Tensor logits = SamplingLogits.logits(b, DType.F32, Pattern.RANDOM, rows, c.vocab());
        Tensor prompt = b.ints(tokens(b.random(), rows * c.promptLen(), c.vocab()), rows, c.promptLen());
        Tensor output = b.ints(tokens(b.random(), rows * c.outputLen(), c.vocab()), rows, c.outputLen());
        float[] rep = new float[rows], pres = new float[rows], freq = new float[rows];
        SplittableRandom r = b.random();
        for (int i = 0; i < rows; i++) {
            boolean neutralRow = c.kind() == Kind.NEUTRAL || c.kind() == Kind.ALL && r.nextInt(4) == 0;
            rep[i] = neutralRow || c.kind() != Kind.REPETITION && c.kind() != Kind.ALL ? 1f
                    : (float) (r.nextBoolean() ? 1.05 + r.nextDouble() : 0.5 + 0.45 * r.nextDouble());
            freq[i] = neutralRow || c.kind() != Kind.FREQUENCY && c.kind() != Kind.ALL ? 0f : (float) (-2 + 4 * r.nextDouble());
            pres[i] = neutralRow || c.kind() != Kind.PRESENCE && c.kind() != Kind.ALL ? 0f : (float) (-2 + 4 * r.nextDouble());
        }
        Penalties args = new Penalties(logits, prompt, output, b.input(DType.F32, rep, rows),
                b.input(DType.F32, pres, rows), b.input(DType.F32, freq, rows));
        return b.build(args, new Checked("logits", logits, c.kind() == Kind.NEUTRAL ? Tolerance.BIT_EXACT : LOGITS, null));
    }

    /**
     * Token ids with the repeats real histories have: half from a hot set of 4 tokens, the rest
     * anywhere in the vocabulary; about one in six is −1 padding (anywhere in the row).
     */
    private static int[] tokens(SplittableRandom r, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextBoolean() ? r.nextInt(Math.min(vocab, 4)) : r.nextInt(vocab);
            if (r.nextInt(6) == 0) {
                t[i] = -1;
            }
        }
        return t;
    }

    @Override
    public double flops(Case c) {
        return 4.0 * c.rows() * c.vocab();
    }

    @Override
    public double bytes(Case c) {
        return 8.0 * c.rows() * c.vocab() + 4.0 * c.rows() * (c.promptLen() + c.outputLen());
    }
}
