package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link GatedRmsNorm} (Mamba-2 RMSNormGated): n_groups from 1 (one group over D)
 * to many small groups, gate before or after the norm, z a strided half of a fused [x | z]
 * projection. Rounded once to out: {@link CoreOpsCases#norm} at out's dtype.
 */
public final class GatedRmsNormSpec extends OpSpec<GatedRmsNormSpec.Case> {

    /** D = groups · groupSize. */
    public record Case(int tokens, int groups, int groupSize, DType x, DType weight, DType out, boolean normBeforeGate,
            boolean fusedZ) {
    }

    @Override
    public OpKind op() {
        return OpKind.GATED_RMS_NORM;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> groups = Gens.oneOf(1, 2, 8, 3);
        Gen<Integer> groupSize = Gens.size(1, 256, 1, 7, 8, 15, 16, 17, 64, 128, 256);
        Gen<DType[]> dtypes = floats().zip(floats(), floats(), (x, w, o) -> new DType[] {x, w, o});
        return tokens(24).zip(groups, groupSize, dtypes, flags(2), (t, g, gs, d, f) -> new Case(t, g, gs, d[0], d[1],
                d[2], bit(f, 0), bit(f, 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(7, 8, 128, DType.BF16, DType.BF16, DType.BF16, false, true), // Mamba-2 style
                new Case(1, 1, 769, DType.F32, DType.F32, DType.F32, true, false),
                new Case(3, 3, 17, DType.F16, DType.BF16, DType.F32, false, false));
    }

    @Override
    public String name(Case c) {
        return "gated_rms_norm[T=" + c.tokens() + ",G=" + c.groups() + "x" + c.groupSize() + "," + pair(c.x(), c.out())
                + ",w=" + dt(c.weight()) + (c.normBeforeGate() ? ",norm_first" : "") + (c.fusedZ() ? ",fused" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.x(), c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), d = c.groups() * c.groupSize();
        Tensor x = b.input(c.x(), -3, 3, t, d);
        Tensor z = c.fusedZ() ? b.input(c.x(), -4, 4, t, 2 * d).narrowLast(d, d) : b.input(c.x(), -4, 4, t, d);
        Tensor w = b.input(c.weight(), 0.5, 1.5, d);
        Tensor out = b.output(c.out(), t, d);
        return b.build(new GatedRmsNorm(x, z, w, out, c.groupSize(), 1e-5f, c.normBeforeGate()),
                new Checked("out", out, norm(coarsest(c.out())), null));
    }

    @Override
    public double flops(Case c) {
        return 10.0 * c.tokens() * c.groups() * c.groupSize();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.tokens() * c.groups() * c.groupSize() * (2 * c.x().byteSize() + c.out().byteSize());
    }
}
