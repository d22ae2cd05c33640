package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link SelectiveStateUpdate}: decode batches of 0..8 sequences, some padded, sizes,
 * value ranges and tolerances as {@link SelectiveScanSpec}.
 */
public final class SelectiveStateUpdateSpec extends OpSpec<SelectiveStateUpdateSpec.Case> {

    public record Case(List<Boolean> padded, int d, int n, boolean z, boolean dSkip, boolean deltaBias,
            boolean softplus, DType dt, int extra) {
    }

    @Override
    public OpKind op() {
        return OpKind.SELECTIVE_STATE_UPDATE;
    }

    @Override
    public Gen<Case> cases() {
        return decodes().zip(SelectiveScanSpec.channels(), SelectiveScanSpec.stateSizes(), dtypes(),
                SourceDSL.integers().between(0, 31),
                (p, d, n, dt, f) -> new Case(p, d, n, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0, (f & 8) != 0, dt,
                        1 + ((f >> 4) & 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(List.of(), 16, 16, true, true, true, true, DType.F32, 1),
                new Case(List.of(false), 1, 1, false, false, false, false, DType.F32, 1),
                new Case(List.of(false, true, false, false, false), 33, 16, true, true, true, true, DType.BF16, 2),
                new Case(List.of(true, false), 17, 9, false, true, true, true, DType.F16, 1));
    }

    @Override
    public String name(Case c) {
        return "selective_state_update[" + decodeLabel(c.padded()) + ",D=" + c.d() + ",N=" + c.n() + ","
                + dt(c.dt()) + (c.z() ? ",z" : "") + (c.dSkip() ? ",Dskip" : "") + (c.deltaBias() ? ",bias" : "")
                + (c.softplus() ? ",softplus" : "") + ",S+" + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = buildDecode(b, c.padded(), c.extra());
        int t = l.tokens(), d = c.d(), n = c.n();
        Tensor u = b.input(c.dt(), -1, 1, t, d);
        Tensor delta = b.input(c.dt(), c.softplus() ? -3 : 0, c.softplus() ? 1 : 0.5, t, d);
        Tensor a = SelectiveScanSpec.aMatrix(b, d, n);
        Tensor bm = b.input(c.dt(), -1, 1, t, n);
        Tensor cm = b.input(c.dt(), -1, 1, t, n);
        Tensor dSkip = c.dSkip() ? b.input(DType.F32, -1, 1, d) : null;
        Tensor z = c.z() ? b.input(c.dt(), -2, 2, t, d) : null;
        Tensor deltaBias = c.deltaBias() ? b.input(DType.F32, c.softplus() ? -0.5 : 0, 0.5, d) : null;
        Tensor states = b.state(DType.F32, -1, 1, l.slots(), d, n);
        Tensor out = b.output(c.dt(), t, d);
        return b.build(new SelectiveStateUpdate(u, delta, a, bm, cm, dSkip, z, deltaBias, c.softplus(), states,
                        l.stateIndices(), out),
                new Checked("out", out, scanOut(c.dt()), null),
                new Checked("ssmStates", states, SCAN_STATE, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, decodeRows(c.padded()), "ssmStates",
                usedSlots(((SelectiveStateUpdate) reference.args()).stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, decodeRows(c.padded()), "ssmStates",
                usedSlots(((SelectiveStateUpdate) reference.args()).stateIndices()));
    }

    @Override
    public double flops(Case c) {
        return 7.0 * c.padded().size() * c.d() * c.n();
    }

    @Override
    public double bytes(Case c) {
        int t = c.padded().size();
        return (double) t * ((c.z() ? 4 : 3) * c.d() + 2 * c.n()) * c.dt().byteSize() + 4.0 * c.d() * c.n() * (1 + 2.0 * t);
    }
}
