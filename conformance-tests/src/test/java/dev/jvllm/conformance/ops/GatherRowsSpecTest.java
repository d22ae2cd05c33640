package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class GatherRowsSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(GatherRowsSpec.class, Specs.of(OpKind.GATHER_ROWS));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new GatherRowsSpec());
    }

    @Test
    void gatheringTheNextRowFails() {
        // indices[i] + 1 (clamped): the off-by-one of "last token" = query_start_loc[i + 1]
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, GatherRows.class, a -> {
                int[] idx = Tensors.toInts(a.indices());
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = Math.min(a.src().dim(0) - 1, idx[i] + 1);
                }
                try (var shifted = Tensors.fromInts(real, idx, idx.length)) {
                    real.gatherRows(new GatherRows(a.src(), shifted, a.dst()));
                }
            });
            assertFails(new GatherRowsSpec(), broken, ref);
        }
    }
}
