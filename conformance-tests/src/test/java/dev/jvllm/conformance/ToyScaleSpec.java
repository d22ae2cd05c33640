package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Scale;
import java.util.List;
import java.util.Locale;
import org.quicktheories.core.Gen;

/**
 * A test-only spec of {@link Scale} ({@code out = 1.5 · x}) for the harness's own tests. It runs
 * against {@link HostScale} backends (the op computed on the host), so the harness is tested
 * without depending on any CPU kernel or on the real {@code ScaleSpec}.
 */
final class ToyScaleSpec extends OpSpec<ToyScaleSpec.Case> {
    /** rows × cols of x, and the dtype of x and out. */
    record Case(int rows, int cols, DType dtype) {
    }

    @Override
    public OpKind op() {
        return OpKind.SCALE;
    }

    @Override
    public Gen<Case> cases() {
        return Gens.size(1, 9, 1, 2, 3, 7, 8, 9).zip(Gens.size(1, 100, 1, 7, 8, 9, 33, 41, 64, 65),
                Gens.oneOf(DType.F32, DType.BF16, DType.F16), Case::new);
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(1, 1, DType.F32), new Case(2, 3, DType.BF16));
    }

    @Override
    public String name(Case c) {
        return "scale[T=" + c.rows() + ",H=" + c.cols() + "," + dtypeLabel(c) + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return c.dtype().name().toLowerCase(Locale.ROOT);
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor x = b.input(c.dtype(), -2, 2, c.rows(), c.cols());
        Tensor out = b.output(c.dtype(), c.rows(), c.cols());
        // f32: one rounding of an exact product; bf16/f16: one rounding step of the narrow type
        Tolerance tol = c.dtype() == DType.F32 ? Tolerance.close(1e-6, 1e-6) : Tolerance.close(1e-3, 1e-2);
        return b.build(new Scale(x, 1.5f, out), new Checked("out", out, tol, null));
    }

    @Override
    public double flops(Case c) {
        return (double) c.rows() * c.cols();
    }

    @Override
    public double bytes(Case c) {
        return 2.0 * c.rows() * c.cols() * c.dtype().byteSize();
    }

    /**
     * Computes {@link Scale} on the host for F32 and BF16 (F16 is "unsupported", so the harness's
     * unsupported path is exercised); everything else is the delegate's. Subclasses break it.
     */
    static class HostScale extends DelegatingBackend {
        HostScale(Backend delegate) {
            super(delegate);
        }

        @Override
        public boolean supports(OpArgs args) {
            if (args instanceof Scale s) {
                return s.x().dtype() != DType.F16;
            }
            return super.supports(args);
        }

        @Override
        public void scale(Scale a) {
            float[] v = Tensors.toFloats(a.x());
            for (int i = 0; i < v.length; i++) {
                v[i] *= a.factor();
            }
            Tensors.writeFloats(a.out(), v);
        }
    }
}
