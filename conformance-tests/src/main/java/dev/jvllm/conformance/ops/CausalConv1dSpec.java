package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.conformance.ops.ScanCases.Seq;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link CausalConv1d}: varlen batches of fresh, continued and padded sequences
 * (1..40 tokens, 1-token ones mixed with long ones), channel counts around vector widths, kernel
 * widths 2..4, with and without bias and SiLU, conv states in the activation dtype or f32, in a
 * pool larger than the batch whose other slots must stay untouched.
 *
 * <p>Tolerances: the output is a once-rounded sum of K products ({@link ScanCases#convOut}); the
 * conv state is a copy of inputs, so bit-exact.
 */
public final class CausalConv1dSpec extends OpSpec<CausalConv1dSpec.Case> {

    /**
     * @param extra   state slots beyond the running sequences (never touched)
     * @param stateDt the conv state's dtype
     */
    public record Case(List<Seq> seqs, int channels, int k, boolean bias, boolean silu, DType dt, DType stateDt,
            int extra) {
    }

    /** Channel counts: 1, vector widths (8/16 lanes) ±1, the kernel's 128-channel block ±1. */
    static Gen<Integer> channels() {
        return Gens.size(1, 130, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129);
    }

    @Override
    public OpKind op() {
        return OpKind.CAUSAL_CONV1D;
    }

    @Override
    public Gen<Case> cases() {
        // flags: bit 0 bias, bit 1 silu, bit 2 f32 state, bit 3 two extra slots (else one)
        return seqs().zip(channels(), SourceDSL.integers().between(2, 4), dtypes(), SourceDSL.integers().between(0, 15),
                (s, c, k, dt, f) -> new Case(s, c, k, (f & 1) != 0, (f & 2) != 0, dt, (f & 4) != 0 ? DType.F32 : dt,
                        1 + ((f >> 3) & 1)));
    }

    @Override
    public List<Case> pinned() {
        Seq fresh1 = new Seq(1, false, false), cont1 = new Seq(1, true, false);
        return List.of(
                new Case(List.of(), 8, 4, true, true, DType.F32, DType.F32, 2), // empty batch
                new Case(List.of(fresh1), 1, 2, false, false, DType.F32, DType.F32, 1),
                // L < K−1: the new state keeps part of the old one
                new Case(List.of(cont1, new Seq(2, true, false)), 9, 4, true, true, DType.BF16, DType.BF16, 1),
                // 1-token sequences mixed with a long one and padding
                new Case(List.of(cont1, new Seq(40, false, false), new Seq(5, true, true), fresh1), 17, 4, true, true,
                        DType.BF16, DType.F32, 2),
                new Case(List.of(new Seq(33, true, false), new Seq(7, false, false)), 129, 3, false, true, DType.F16,
                        DType.F16, 1),
                new Case(List.of(new Seq(3, true, true)), 16, 3, true, false, DType.F32, DType.BF16, 1)); // all padded
    }

    @Override
    public String name(Case c) {
        return "causal_conv1d[" + label(c.seqs()) + ",C=" + c.channels() + ",K=" + c.k() + "," + dt(c.dt())
                + (c.stateDt() != c.dt() ? ",state=" + dt(c.stateDt()) : "") + (c.bias() ? ",bias" : "")
                + (c.silu() ? ",silu" : "") + ",S+" + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = build(b, c.seqs(), c.extra());
        int t = l.tokens(), ch = c.channels(), k = c.k();
        Tensor x = b.input(c.dt(), -2, 2, t, ch);
        Tensor weight = b.input(c.dt(), -0.6, 0.6, ch, k);
        Tensor bias = c.bias() ? b.input(c.dt(), -0.5, 0.5, ch) : null;
        Tensor states = b.state(c.stateDt(), -1, 1, l.slots(), k - 1, ch);
        Tensor out = b.output(c.dt(), t, ch);
        return b.build(new CausalConv1d(x, weight, bias, states, l.batch(), c.silu(), out),
                new Checked("out", out, convOut(c.dt()), null),
                // the state is a copy of inputs (rounded to its dtype): bit-exact
                new Checked("convStates", states, Tolerance.BIT_EXACT, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, rows(c.seqs()), "convStates",
                usedSlots(((CausalConv1d) reference.args()).batch().stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, rows(c.seqs()), "convStates",
                usedSlots(((CausalConv1d) reference.args()).batch().stateIndices()));
    }

    @Override
    public double flops(Case c) {
        return 2.0 * tokens(c.seqs()) * c.channels() * c.k();
    }

    @Override
    public double bytes(Case c) {
        int t = tokens(c.seqs());
        return (2.0 * t * c.channels() + c.channels() * (c.k() + 1)) * c.dt().byteSize()
                + 2.0 * active(c.seqs()) * (c.k() - 1) * c.channels() * c.stateDt().byteSize();
    }
}
