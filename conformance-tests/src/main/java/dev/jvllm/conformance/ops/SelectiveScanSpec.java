package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.ops.ScanCases.Seq;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link SelectiveScan} (Mamba-1): varlen batches as {@link CausalConv1dSpec}, channel
 * counts around vector widths and the kernel's 16-channel blocks, state sizes 1..20 (Mamba uses
 * 16), each of z, D skip, Δ bias and softplus on or off. A = −exp(A_log) with A_log in [−1, 1.5].
 * Without softplus Δ stays ≥ 0 so the state stays bounded. Tolerances: {@link ScanCases#scanOut}
 * for out, {@link ScanCases#SCAN_STATE} for the f32 state.
 */
public final class SelectiveScanSpec extends OpSpec<SelectiveScanSpec.Case> {

    public record Case(List<Seq> seqs, int d, int n, boolean z, boolean dSkip, boolean deltaBias, boolean softplus,
            DType dt, int extra) {
    }

    static Gen<Integer> channels() {
        return Gens.size(1, 70, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65);
    }

    static Gen<Integer> stateSizes() {
        return Gens.size(1, 20, 1, 7, 8, 9, 15, 16, 17);
    }

    @Override
    public OpKind op() {
        return OpKind.SELECTIVE_SCAN;
    }

    @Override
    public Gen<Case> cases() {
        // flags: z, D skip, Δ bias, softplus, two extra slots
        return seqs().zip(channels(), stateSizes(), dtypes(), SourceDSL.integers().between(0, 31),
                (s, d, n, dt, f) -> new Case(s, d, n, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0, (f & 8) != 0, dt,
                        1 + ((f >> 4) & 1)));
    }

    @Override
    public List<Case> pinned() {
        Seq one = new Seq(1, true, false);
        return List.of(
                new Case(List.of(), 16, 16, true, true, true, true, DType.F32, 1),
                new Case(List.of(new Seq(1, false, false)), 1, 1, false, false, false, false, DType.F32, 1),
                // Mamba-1 as run: z, D, Δ bias with softplus, N = 16; decodes mixed with a long prefill and padding
                new Case(List.of(one, new Seq(40, false, false), new Seq(4, true, true), one), 33, 16, true, true, true,
                        true, DType.BF16, 2),
                new Case(List.of(new Seq(17, true, false), new Seq(8, false, false)), 17, 17, true, true, false, true,
                        DType.F16, 1));
    }

    @Override
    public String name(Case c) {
        return "selective_scan[" + label(c.seqs()) + ",D=" + c.d() + ",N=" + c.n() + "," + dt(c.dt())
                + (c.z() ? ",z" : "") + (c.dSkip() ? ",Dskip" : "") + (c.deltaBias() ? ",bias" : "")
                + (c.softplus() ? ",softplus" : "") + ",S+" + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    /** A = −exp(A_log), A_log uniform in [−1, 1.5], as F32. */
    static Tensor aMatrix(CaseBuilder b, int rows, int cols) {
        float[] a = b.uniform(rows * cols, -1, 1.5);
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) -Math.exp(a[i]);
        }
        return b.input(DType.F32, a, rows, cols);
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = build(b, c.seqs(), c.extra());
        int t = l.tokens(), d = c.d(), n = c.n();
        Tensor u = b.input(c.dt(), -1, 1, t, d);
        Tensor delta = b.input(c.dt(), c.softplus() ? -3 : 0, c.softplus() ? 1 : 0.5, t, d);
        Tensor a = aMatrix(b, d, n);
        Tensor bm = b.input(c.dt(), -1, 1, t, n);
        Tensor cm = b.input(c.dt(), -1, 1, t, n);
        Tensor dSkip = c.dSkip() ? b.input(DType.F32, -1, 1, d) : null;
        Tensor z = c.z() ? b.input(c.dt(), -2, 2, t, d) : null;
        Tensor deltaBias = c.deltaBias() ? b.input(DType.F32, c.softplus() ? -0.5 : 0, 0.5, d) : null;
        Tensor states = b.state(DType.F32, -1, 1, l.slots(), d, n);
        Tensor out = b.output(c.dt(), t, d);
        return b.build(new SelectiveScan(u, delta, a, bm, cm, dSkip, z, deltaBias, c.softplus(), states, l.batch(), out),
                new Checked("out", out, scanOut(c.dt()), null),
                new Checked("ssmStates", states, SCAN_STATE, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, rows(c.seqs()), "ssmStates",
                usedSlots(((SelectiveScan) reference.args()).batch().stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, rows(c.seqs()), "ssmStates",
                usedSlots(((SelectiveScan) reference.args()).batch().stateIndices()));
    }

    @Override
    public double flops(Case c) {
        return 7.0 * tokens(c.seqs()) * c.d() * c.n();
    }

    @Override
    public double bytes(Case c) {
        int t = tokens(c.seqs());
        return (double) t * ((c.z() ? 4 : 3) * c.d() + 2 * c.n()) * c.dt().byteSize()
                + 4.0 * c.d() * c.n() * (1 + 2.0 * active(c.seqs()));
    }
}
