package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.ops.Copy;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class CopySpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(CopySpec.class, Specs.of(OpKind.COPY));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new CopySpec());
    }

    @Test
    void droppingTheLastColumnFails() {
        // copies all but the last column: the canaries left there must show
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Copy.class, a -> {
                if (a.src().cols() > 1) {
                    real.copy(new Copy(a.src().narrowLast(0, a.src().cols() - 1), a.dst().narrowLast(0, a.dst().cols() - 1)));
                } else {
                    real.copy(a);
                }
            });
            var rs = assertFails(new CopySpec(), broken, ref);
            assertTrue(rs.stream().anyMatch(r -> r.message().contains("dst")), failures(rs));
        }
    }
}
