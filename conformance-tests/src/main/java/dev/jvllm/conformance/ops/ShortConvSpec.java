package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.conformance.ops.ScanCases.Seq;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link ShortConv} (LFM2): varlen batches as {@link CausalConv1dSpec}, bcx = [B|C|x].
 * Tolerances: out is a once-rounded gate times a short conv ({@link ScanCases#convOut}); the state
 * holds Bx = B⊙x rounded to bcx's dtype, one exactly-rounded product, so bit-exact.
 */
public final class ShortConvSpec extends OpSpec<ShortConvSpec.Case> {

    public record Case(List<Seq> seqs, int channels, int k, boolean bias, DType dt, DType stateDt, int extra) {
    }

    @Override
    public OpKind op() {
        return OpKind.SHORT_CONV;
    }

    @Override
    public Gen<Case> cases() {
        // flags: bit 0 bias, bit 1 f32 state, bit 2 two extra slots
        return seqs().zip(CausalConv1dSpec.channels(), SourceDSL.integers().between(2, 4), dtypes(),
                SourceDSL.integers().between(0, 7),
                (s, c, k, dt, f) -> new Case(s, c, k, (f & 1) != 0, dt, (f & 2) != 0 ? DType.F32 : dt,
                        1 + ((f >> 2) & 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(List.of(), 8, 3, false, DType.BF16, DType.BF16, 1),
                new Case(List.of(new Seq(1, false, false)), 1, 2, false, DType.F32, DType.F32, 1),
                new Case(List.of(new Seq(1, true, false), new Seq(40, false, false), new Seq(3, true, true),
                        new Seq(2, true, false)), 17, 3, true, DType.BF16, DType.BF16, 2), // LFM2: K = 3, no bias
                new Case(List.of(new Seq(9, true, false)), 129, 4, true, DType.F16, DType.F32, 1));
    }

    @Override
    public String name(Case c) {
        return "short_conv[" + label(c.seqs()) + ",C=" + c.channels() + ",K=" + c.k() + "," + dt(c.dt())
                + (c.stateDt() != c.dt() ? ",state=" + dt(c.stateDt()) : "") + (c.bias() ? ",bias" : "") + ",S+"
                + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = build(b, c.seqs(), c.extra());
        int t = l.tokens(), ch = c.channels(), k = c.k();
        Tensor bcx = b.input(c.dt(), -2, 2, t, 3 * ch);
        Tensor weight = b.input(c.dt(), -0.6, 0.6, ch, k);
        Tensor bias = c.bias() ? b.input(c.dt(), -0.5, 0.5, ch) : null;
        Tensor states = b.state(c.stateDt(), -1, 1, l.slots(), k - 1, ch);
        Tensor out = b.output(c.dt(), t, ch);
        return b.build(new ShortConv(bcx, weight, bias, states, l.batch(), out),
                new Checked("out", out, convOut(c.dt()), null),
                new Checked("convStates", states, Tolerance.BIT_EXACT, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, rows(c.seqs()), "convStates",
                usedSlots(((ShortConv) reference.args()).batch().stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, rows(c.seqs()), "convStates",
                usedSlots(((ShortConv) reference.args()).batch().stateIndices()));
    }

    @Override
    public double flops(Case c) {
        return (2.0 * c.k() + 2) * tokens(c.seqs()) * c.channels();
    }

    @Override
    public double bytes(Case c) {
        int t = tokens(c.seqs());
        return (4.0 * t * c.channels() + c.channels() * (c.k() + 1)) * c.dt().byteSize()
                + 2.0 * active(c.seqs()) * (c.k() - 1) * c.channels() * c.stateDt().byteSize();
    }
}
