package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class RmsNormSpecTest {

    /** Deliberate deviations from the cast order of the contract. */
    enum Bug {
        NONE,
        /** the normalized value is not rounded to x's dtype before the weight (Llama form) */
        SKIP_MID_ROUND,
        /** residualOut is stored rounded, but the unrounded f32 sum is normalized */
        UNROUNDED_RESIDUAL
    }

    /** RmsNorm on the host in f64 except for the contract's roundings (or with one bug). */
    static void host(RmsNorm a, Bug bug) {
        int t = a.x().dim(0), h = a.x().cols();
        float[] x = Tensors.toFloats(a.x()), w = Tensors.toFloats(a.weight());
        float[] res = a.residual() == null ? null : Tensors.toFloats(a.residual());
        float[] stored = res == null ? null : new float[t * h];
        float[] out = new float[t * h];
        for (int i = 0; i < t; i++) {
            double ss = 0;
            for (int j = 0; j < h; j++) {
                int e = i * h + j;
                if (res != null) {
                    float sum = x[e] + res[e];
                    stored[e] = Numerics.roundTo(a.residualOut().dtype(), sum);
                    x[e] = bug == Bug.UNROUNDED_RESIDUAL ? sum : stored[e];
                }
                ss += (double) x[e] * x[e];
            }
            double inv = 1 / Math.sqrt(ss / h + a.eps());
            for (int j = 0; j < h; j++) {
                double n = x[i * h + j] * inv;
                if (a.gemma()) {
                    out[i * h + j] = (float) (n * (1 + (double) w[j]));
                } else {
                    float nr = bug == Bug.SKIP_MID_ROUND ? (float) n : Numerics.roundTo(a.x().dtype(), (float) n);
                    out[i * h + j] = (float) (nr * (double) w[j]);
                }
            }
        }
        if (res != null) {
            Tensors.writeFloats(a.residualOut(), stored);
        }
        Tensors.writeFloats(a.out(), out);
    }

    @Test
    void foundByConvention() {
        assertInstanceOf(RmsNormSpec.class, Specs.of(OpKind.RMS_NORM));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new RmsNormSpec());
    }

    @Test
    void anIndependentF64HostImplementationPasses() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new RmsNormSpec(), replacing(real, RmsNorm.class, a -> host(a, Bug.NONE)), ref, 20);
        }
    }

    @Test
    void skippingTheRoundingToXsDtypeFails() {
        // Llama's forward_native casts the normalized value back to x's dtype before the weight
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new RmsNormSpec(), replacing(real, RmsNorm.class, a -> host(a, Bug.SKIP_MID_ROUND)), ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .noneMatch(r -> r.name().contains("gemma")), "only the Llama form rounds mid-way: " + failures(rs));
        }
    }

    @Test
    void normalizingTheUnroundedResidualFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new RmsNormSpec(), replacing(real, RmsNorm.class,
                    a -> host(a, Bug.UNROUNDED_RESIDUAL)), ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.name().contains("residual") || r.name().endsWith("[shrunk]")), failures(rs));
        }
    }
}
