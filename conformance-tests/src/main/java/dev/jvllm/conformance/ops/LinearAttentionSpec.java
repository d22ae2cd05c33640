package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.ops.ScanCases.Seq;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link LinearAttention} (MiniMax-Text-01 lightning attention): varlen batches as
 * {@link CausalConv1dSpec} (decodes are 1-token sequences continuing from their slot), 1..4 heads
 * of dims 16..128 (vector widths ±1, MiniMax's 128), slopes in [0.01, 1.5] (decays 0.22..0.99).
 * q, k, v in [−0.3, 1] as after SiLU. Tolerances: {@link ScanCases#scanOut} (a blocked "lightning"
 * evaluation reorders the sums) and {@link ScanCases#SCAN_STATE}.
 */
public final class LinearAttentionSpec extends OpSpec<LinearAttentionSpec.Case> {

    public record Case(List<Seq> seqs, int heads, int d, DType dt, int extra) {
    }

    @Override
    public OpKind op() {
        return OpKind.LINEAR_ATTENTION;
    }

    @Override
    public Gen<Case> cases() {
        return seqs().zip(Gens.size(1, 4, 1, 2, 3), Gens.size(16, 128, 16, 17, 31, 32, 33, 64, 80, 96, 128), dtypes(),
                Gens.size(1, 2), Case::new);
    }

    @Override
    public List<Case> pinned() {
        Seq one = new Seq(1, true, false);
        return List.of(
                new Case(List.of(), 2, 16, DType.F32, 1),
                new Case(List.of(new Seq(1, false, false)), 1, 16, DType.F32, 1),
                new Case(List.of(one, new Seq(40, false, false), new Seq(6, true, true), one), 2, 128, DType.BF16, 2),
                new Case(List.of(new Seq(17, true, false), new Seq(3, false, false)), 3, 17, DType.F16, 1));
    }

    @Override
    public String name(Case c) {
        return "linear_attention[" + label(c.seqs()) + ",H=" + c.heads() + ",D=" + c.d() + "," + dt(c.dt()) + ",S+"
                + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = build(b, c.seqs(), c.extra());
        int t = l.tokens(), hd = c.heads() * c.d();
        Tensor q = b.input(c.dt(), -0.3, 1, t, hd);
        Tensor k = b.input(c.dt(), -0.3, 1, t, hd);
        Tensor v = b.input(c.dt(), -0.3, 1, t, hd);
        Tensor slopes = b.input(DType.F32, 0.01, 1.5, c.heads());
        Tensor states = b.state(DType.F32, -1, 1, l.slots(), c.heads(), c.d(), c.d());
        Tensor out = b.output(c.dt(), t, hd);
        return b.build(new LinearAttention(q, k, v, slopes, states, l.batch(), out),
                new Checked("out", out, scanOut(c.dt()), null),
                new Checked("kvStates", states, SCAN_STATE, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, rows(c.seqs()), "kvStates",
                usedSlots(((LinearAttention) reference.args()).batch().stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, rows(c.seqs()), "kvStates",
                usedSlots(((LinearAttention) reference.args()).batch().stateIndices()));
    }

    @Override
    public double flops(Case c) {
        return 5.0 * tokens(c.seqs()) * c.heads() * c.d() * c.d();
    }

    @Override
    public double bytes(Case c) {
        return 4.0 * tokens(c.seqs()) * c.heads() * c.d() * c.dt().byteSize()
                + 8.0 * active(c.seqs()) * c.heads() * c.d() * c.d();
    }
}
