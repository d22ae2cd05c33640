package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link CausalConv1dUpdate}: decode batches of 0..8 sequences, some padded (−1),
 * over a pool with untouched slots; sizes and tolerances as {@link CausalConv1dSpec}.
 */
public final class CausalConv1dUpdateSpec extends OpSpec<CausalConv1dUpdateSpec.Case> {

    /** padded: per batch row, whether it is padding. */
    public record Case(List<Boolean> padded, int channels, int k, boolean bias, boolean silu, DType dt,
            DType stateDt, int extra) {
    }

    @Override
    public OpKind op() {
        return OpKind.CAUSAL_CONV1D_UPDATE;
    }

    @Override
    public Gen<Case> cases() {
        return decodes().zip(CausalConv1dSpec.channels(), SourceDSL.integers().between(2, 4), dtypes(),
                SourceDSL.integers().between(0, 15),
                (p, c, k, dt, f) -> new Case(p, c, k, (f & 1) != 0, (f & 2) != 0, dt, (f & 4) != 0 ? DType.F32 : dt,
                        1 + ((f >> 3) & 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(List.of(), 8, 4, true, true, DType.F32, DType.F32, 1),
                new Case(List.of(false), 1, 2, false, false, DType.F32, DType.F32, 1),
                new Case(List.of(false, true, false, false), 17, 4, true, true, DType.BF16, DType.BF16, 2),
                new Case(List.of(true, false), 129, 3, true, true, DType.F16, DType.F32, 1));
    }

    @Override
    public String name(Case c) {
        return "causal_conv1d_update[" + decodeLabel(c.padded()) + ",C=" + c.channels() + ",K=" + c.k() + ","
                + dt(c.dt()) + (c.stateDt() != c.dt() ? ",state=" + dt(c.stateDt()) : "") + (c.bias() ? ",bias" : "")
                + (c.silu() ? ",silu" : "") + ",S+" + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = buildDecode(b, c.padded(), c.extra());
        int n = l.tokens(), ch = c.channels(), k = c.k();
        Tensor x = b.input(c.dt(), -2, 2, n, ch);
        Tensor weight = b.input(c.dt(), -0.6, 0.6, ch, k);
        Tensor bias = c.bias() ? b.input(c.dt(), -0.5, 0.5, ch) : null;
        Tensor states = b.state(c.stateDt(), -1, 1, l.slots(), k - 1, ch);
        Tensor out = b.output(c.dt(), n, ch);
        return b.build(new CausalConv1dUpdate(x, weight, bias, states, l.stateIndices(), c.silu(), out),
                new Checked("out", out, convOut(c.dt()), null),
                new Checked("convStates", states, Tolerance.BIT_EXACT, l.untouchedSlots())); // a shift: bit-exact
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, decodeRows(c.padded()), "convStates",
                usedSlots(((CausalConv1dUpdate) reference.args()).stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, decodeRows(c.padded()), "convStates",
                usedSlots(((CausalConv1dUpdate) reference.args()).stateIndices()));
    }

    @Override
    public double flops(Case c) {
        return 2.0 * c.padded().size() * c.channels() * c.k();
    }

    @Override
    public double bytes(Case c) {
        int n = c.padded().size();
        return (2.0 * n * c.channels() + c.channels() * (c.k() + 1)) * c.dt().byteSize()
                + 2.0 * n * (c.k() - 1) * c.channels() * c.stateDt().byteSize();
    }
}
