package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.ops.SsdChunkScanSpec.Inputs;
import dev.jvllm.conformance.ops.SsdChunkScanSpec.Shape;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link SsdStateUpdate}: decode batches of 0..8 sequences, some padded; shapes,
 * value ranges and tolerances as {@link SsdChunkScanSpec} (the chunk size plays no part).
 */
public final class SsdStateUpdateSpec extends OpSpec<SsdStateUpdateSpec.Case> {

    public record Case(List<Boolean> padded, Shape shape, boolean dSkip, boolean dtBias, boolean softplus,
            boolean clamp, DType dt, int extra) {
    }

    @Override
    public OpKind op() {
        return OpKind.SSD_STATE_UPDATE;
    }

    @Override
    public Gen<Case> cases() {
        return decodes().zip(SsdChunkScanSpec.shapes(Gens.oneOf(1)), dtypes(), SourceDSL.integers().between(0, 31),
                (p, sh, dt, f) -> new Case(p, sh, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0, (f & 8) != 0, dt,
                        1 + ((f >> 4) & 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(List.of(), new Shape(2, 1, 8, 16, 1), true, true, true, false, DType.F32, 1),
                new Case(List.of(false), new Shape(1, 1, 4, 1, 1), false, false, false, false, DType.F32, 1),
                new Case(List.of(false, true, false, false), new Shape(4, 2, 16, 64, 1), true, true, true, false,
                        DType.BF16, 2),
                new Case(List.of(true, false, false), new Shape(8, 4, 64, 128, 1), true, true, true, true, DType.F16, 1));
    }

    @Override
    public String name(Case c) {
        return "ssd_state_update[" + decodeLabel(c.padded()) + "," + c.shape() + "," + dt(c.dt())
                + (c.dSkip() ? ",D" : "") + (c.dtBias() ? ",bias" : "") + (c.softplus() ? ",softplus" : "")
                + (c.clamp() ? ",clamp" : "") + ",S+" + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = buildDecode(b, c.padded(), c.extra());
        Inputs in = Inputs.draw(b, l.tokens(), l.slots(), c.shape(), c.dt(), c.dSkip(), c.dtBias(), c.softplus());
        return b.build(new SsdStateUpdate(in.x(), in.dt(), in.a(), in.b(), in.c(), in.d(), in.dtBias(), c.softplus(),
                        SsdChunkScanSpec.dtMin(c.clamp()), SsdChunkScanSpec.dtMax(c.clamp()), c.shape().groups(),
                        in.states(), l.stateIndices(), in.out()),
                new Checked("out", in.out(), scanOut(c.dt()), null),
                new Checked("ssmStates", in.states(), SCAN_STATE, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, decodeRows(c.padded()), "ssmStates",
                usedSlots(((SsdStateUpdate) reference.args()).stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, decodeRows(c.padded()), "ssmStates",
                usedSlots(((SsdStateUpdate) reference.args()).stateIndices()));
    }

    @Override
    public double flops(Case c) {
        Shape s = c.shape();
        return 5.0 * c.padded().size() * s.heads() * s.p() * s.n();
    }

    @Override
    public double bytes(Case c) {
        Shape s = c.shape();
        int t = c.padded().size();
        return (double) t * (2 * s.heads() * s.p() + s.heads() + 2 * s.groups() * s.n()) * c.dt().byteSize()
                + 8.0 * t * s.heads() * s.p() * s.n();
    }
}
