package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class GatedRmsNormSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(GatedRmsNormSpec.class, Specs.of(OpKind.GATED_RMS_NORM));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new GatedRmsNormSpec());
    }

    @Test
    void normalizingOverTheWholeRowInsteadOfEachGroupFails() {
        // n_groups ignored: one RMS over all D channels
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, GatedRmsNorm.class, a -> real.gatedRmsNorm(new GatedRmsNorm(a.x(), a.z(),
                    a.weight(), a.out(), a.x().cols(), a.eps(), a.normBeforeGate())));
            var rs = assertFails(new GatedRmsNormSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .noneMatch(r -> r.name().contains("G=1x")), "one group is the whole row: " + failures(rs));
        }
    }

    @Test
    void gatingAfterTheNormWhenAskedBeforeFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, GatedRmsNorm.class, a -> real.gatedRmsNorm(new GatedRmsNorm(a.x(), a.z(),
                    a.weight(), a.out(), a.groupSize(), a.eps(), !a.normBeforeGate())));
            assertFails(new GatedRmsNormSpec(), broken, ref);
        }
    }
}
