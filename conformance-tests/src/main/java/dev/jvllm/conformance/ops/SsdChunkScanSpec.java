package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SsdChunkScan;
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
 * Conformance of {@link SsdChunkScan} (Mamba-2): varlen batches as {@link CausalConv1dSpec}; n_groups
 * 1/2/4 with 1..3 heads per group; head dims 4..64; state sizes 1..128 (16/64/128 often); small
 * chunk sizes (3, 8, 16, and 256) so chunk boundaries fall inside sequences; D skip, Δ bias,
 * softplus each on or off; Δ clamp on ([0.001, 0.1]) or off ([0, +Inf]). A in [−8, −0.5]. Without
 * softplus Δ stays ≥ 0. Tolerances: {@link ScanCases#scanOut} (room for a chunked evaluation) and
 * {@link ScanCases#SCAN_STATE}.
 */
public final class SsdChunkScanSpec extends OpSpec<SsdChunkScanSpec.Case> {

    public record Case(List<Seq> seqs, Shape shape, boolean dSkip, boolean dtBias, boolean softplus, boolean clamp,
            DType dt, int extra) {
    }

    /** Heads H, groups G (H divisible by G), head dim P, state size N, chunk size. */
    public record Shape(int heads, int groups, int p, int n, int chunk) {
        @Override
        public String toString() {
            return "H=" + heads + ",G=" + groups + ",P=" + p + ",N=" + n;
        }
    }

    static final int[][] HEADS_GROUPS = {{1, 1}, {2, 1}, {2, 2}, {3, 1}, {4, 2}, {4, 4}, {6, 2}, {8, 4}, {4, 1}};

    static Gen<Shape> shapes(Gen<Integer> chunks) {
        return SourceDSL.integers().between(0, HEADS_GROUPS.length - 1).zip(
                Gens.size(4, 64, 4, 7, 8, 9, 16, 17, 32, 33, 64), Gens.size(1, 128, 16, 64, 128, 8, 17), chunks,
                (hg, p, n, ch) -> new Shape(HEADS_GROUPS[hg][0], HEADS_GROUPS[hg][1], p, n, ch));
    }

    @Override
    public OpKind op() {
        return OpKind.SSD_CHUNK_SCAN;
    }

    @Override
    public Gen<Case> cases() {
        // flags: D skip, Δ bias, softplus, clamp, two extra slots
        return seqs().zip(shapes(Gens.oneOf(8, 3, 16, 256)), dtypes(), SourceDSL.integers().between(0, 31),
                (s, sh, dt, f) -> new Case(s, sh, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0, (f & 8) != 0, dt,
                        1 + ((f >> 4) & 1)));
    }

    @Override
    public List<Case> pinned() {
        Seq one = new Seq(1, true, false);
        return List.of(
                new Case(List.of(), new Shape(2, 1, 8, 16, 8), true, true, true, false, DType.F32, 1),
                new Case(List.of(new Seq(1, false, false)), new Shape(1, 1, 4, 1, 8), false, false, false, false,
                        DType.F32, 1),
                // Mamba-2 as run (D, Δ bias, softplus), chunk boundaries inside a 40-token prefill, decodes, padding
                new Case(List.of(one, new Seq(40, false, false), new Seq(9, true, true), new Seq(17, true, false)),
                        new Shape(4, 2, 16, 64, 8), true, true, true, false, DType.BF16, 2),
                new Case(List.of(new Seq(33, true, false), one), new Shape(8, 4, 64, 16, 16), true, true, true, true,
                        DType.F16, 1),
                new Case(List.of(new Seq(16, false, false)), new Shape(2, 2, 8, 128, 8), true, false, true, true,
                        DType.F32, 1));
    }

    @Override
    public String name(Case c) {
        return "ssd_chunk_scan[" + label(c.seqs()) + "," + c.shape() + ",chunk=" + c.shape().chunk() + ","
                + dt(c.dt()) + (c.dSkip() ? ",D" : "") + (c.dtBias() ? ",bias" : "") + (c.softplus() ? ",softplus" : "")
                + (c.clamp() ? ",clamp" : "") + ",S+" + c.extra() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dt());
    }

    /** The inputs shared with {@link SsdStateUpdateSpec}, drawn in one order. */
    record Inputs(Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor d, Tensor dtBias, Tensor states,
            Tensor out) {
        static Inputs draw(CaseBuilder cb, int t, int slots, Shape s, DType dt, boolean dSkip, boolean dtBias,
                boolean softplus) {
            int h = s.heads(), gn = s.groups() * s.n();
            return new Inputs(cb.input(dt, -1, 1, t, h * s.p()),
                    cb.input(dt, softplus ? -3 : 0, softplus ? 0.5 : 0.3, t, h),
                    cb.input(DType.F32, -8, -0.5, h),
                    cb.input(dt, -1, 1, t, gn), cb.input(dt, -1, 1, t, gn),
                    dSkip ? cb.input(DType.F32, -1, 1, h) : null,
                    dtBias ? cb.input(DType.F32, softplus ? -1 : 0, softplus ? 1 : 0.5, h) : null,
                    cb.state(DType.F32, -1, 1, slots, h, s.p(), s.n()),
                    cb.output(dt, t, h * s.p()));
        }
    }

    static float dtMin(boolean clamp) {
        return clamp ? 0.001f : 0f;
    }

    static float dtMax(boolean clamp) {
        return clamp ? 0.1f : Float.POSITIVE_INFINITY;
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Layout l = build(b, c.seqs(), c.extra());
        Inputs in = Inputs.draw(b, l.tokens(), l.slots(), c.shape(), c.dt(), c.dSkip(), c.dtBias(), c.softplus());
        return b.build(new SsdChunkScan(in.x(), in.dt(), in.a(), in.b(), in.c(), in.d(), in.dtBias(), c.softplus(),
                        dtMin(c.clamp()), dtMax(c.clamp()), c.shape().groups(), c.shape().chunk(), in.states(), l.batch(),
                        in.out()),
                new Checked("out", in.out(), scanOut(c.dt()), null),
                new Checked("ssmStates", in.states(), SCAN_STATE, l.untouchedSlots()));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        return ScanCases.compare(reference, candidate, rows(c.seqs()), "ssmStates",
                usedSlots(((SsdChunkScan) reference.args()).batch().stateIndices()));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        return ScanCases.measure(reference, candidate, rows(c.seqs()), "ssmStates",
                usedSlots(((SsdChunkScan) reference.args()).batch().stateIndices()));
    }

    @Override
    public double flops(Case c) {
        Shape s = c.shape();
        return 5.0 * tokens(c.seqs()) * s.heads() * s.p() * s.n();
    }

    @Override
    public double bytes(Case c) {
        Shape s = c.shape();
        int t = tokens(c.seqs());
        return (double) t * (2 * s.heads() * s.p() + s.heads() + 2 * s.groups() * s.n()) * c.dt().byteSize()
                + 8.0 * active(c.seqs()) * s.heads() * s.p() * s.n();
    }
}
