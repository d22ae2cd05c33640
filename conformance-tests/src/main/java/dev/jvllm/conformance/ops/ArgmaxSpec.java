package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.conformance.ops.SamplingLogits.Pattern;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Argmax}: ids are exact (a max has no rounding), so bit-exact, including the
 * tie rule (lowest index) and NaN counting as the largest value.
 */
public final class ArgmaxSpec extends OpSpec<ArgmaxSpec.Case> {

    /** One case: batch rows, vocabulary size, logits dtype and value pattern. */
    public record Case(int rows, int vocab, DType dtype, Pattern pattern) {
    }

    @Override
    public OpKind op() {
        return OpKind.ARGMAX;
    }

    @Override
    public Gen<Case> cases() {
        return SamplingLogits.rows().zip(SamplingLogits.vocab(), Gens.oneOf(DType.F32, DType.BF16, DType.F16),
                Gens.oneOf(Pattern.RANDOM, Pattern.TIES, Pattern.NAN_INF, Pattern.PEAKED, Pattern.MASKED), Case::new);
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(1, 1, DType.F32, Pattern.RANDOM),
                new Case(3, 17, DType.F32, Pattern.TIES),
                new Case(5, 9, DType.BF16, Pattern.TIES), // bf16 rounding makes more ties
                new Case(4, 33, DType.F32, Pattern.NAN_INF),
                new Case(2, 769, DType.F16, Pattern.MASKED),
                new Case(1, 151_936, DType.F32, Pattern.PEAKED), // Qwen2's vocabulary, one decode row
                new Case(2, 32_000, DType.BF16, Pattern.RANDOM), // Llama-2's
                // a decode batch's rows, each long enough for a backend to split it over blocks: ties
                // (the lowest index must win across the pieces) and NaN / ±∞ somewhere in a long row
                new Case(8, 32_000, DType.F32, Pattern.TIES),
                new Case(3, 50_001, DType.F32, Pattern.NAN_INF),
                // more pieces than a warp has lanes (75 of 2048 entries each for a GPU's split): ties
                new Case(2, 151_936, DType.BF16, Pattern.TIES));
    }

    @Override
    public String name(Case c) {
        return "argmax[B=" + c.rows() + ",V=" + c.vocab() + "," + SamplingLogits.dtype(c.dtype()) + ","
                + c.pattern().label() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return SamplingLogits.dtype(c.dtype());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor logits = SamplingLogits.logits(b, c.dtype(), c.pattern(), c.rows(), c.vocab());
        Tensor out = b.output(DType.I32, c.rows());
        // ids: exact by definition, no tolerance
        return b.build(new Argmax(logits, out), new Checked("out", out, Tolerance.BIT_EXACT, null));
    }

    @Override
    public double flops(Case c) {
        return (double) c.rows() * c.vocab();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.rows() * c.vocab() * c.dtype().byteSize() + 4.0 * c.rows();
    }
}
