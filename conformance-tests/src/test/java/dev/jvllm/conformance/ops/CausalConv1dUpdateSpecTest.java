package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class CausalConv1dUpdateSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(CausalConv1dUpdateSpec.class, Specs.of(OpKind.CAUSAL_CONV1D_UPDATE));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new CausalConv1dUpdateSpec());
    }

    @Test
    void notSavingTheShiftedStateFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, CausalConv1dUpdate.class, (b, a) -> {
                // runs on a copy of the pool, so the real one keeps the old state
                Tensor scratch = Tensors.fromFloats(b, a.convStates().dtype(), Tensors.toFloats(a.convStates()),
                        a.convStates().shape());
                b.causalConv1dUpdate(new CausalConv1dUpdate(a.x(), a.weight(), a.bias(), scratch, a.stateIndices(),
                        a.silu(), a.out()));
            });
            assertCaught(new CausalConv1dUpdateSpec(), broken, ref, "convStates");
        }
    }
}
