package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Scale;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class ScaleSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(ScaleSpec.class, Specs.of(OpKind.SCALE));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new ScaleSpec());
    }

    @Test
    void aFactorRoundedToBf16Fails() {
        // the factor stored as a bf16 scalar (as a model might keep it next to bf16 weights)
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Scale.class,
                    a -> real.scale(new Scale(a.x(), Numerics.roundTo(DType.BF16, a.factor()), a.out())));
            assertFails(new ScaleSpec(), broken, ref);
        }
    }
}
