package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.Fill;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class FillSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(FillSpec.class, Specs.of(OpKind.FILL));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new FillSpec());
    }

    @Test
    void skippingTheLastRowOrRoundingIntegersFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Fill.class, a -> {
                boolean integer = a.dst().dtype() == DType.I32 || a.dst().dtype() == DType.I64;
                if (a.dst().rank() == 2 && a.dst().dim(0) > 1) {
                    real.fill(new Fill(a.dst().slice(0, a.dst().dim(0) - 1), a.value()));
                } else {
                    real.fill(new Fill(a.dst(), integer ? Math.round(a.value()) : a.value()));
                }
            });
            assertFails(new FillSpec(), broken, ref);
        }
    }
}
