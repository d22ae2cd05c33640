package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class SelectiveStateUpdateSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(SelectiveStateUpdateSpec.class, Specs.of(OpKind.SELECTIVE_STATE_UPDATE));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new SelectiveStateUpdateSpec());
    }

    @Test
    void runningPaddedRowsFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, SelectiveStateUpdate.class, (b, a) -> b.selectiveStateUpdate(
                    new SelectiveStateUpdate(a.u(), a.delta(), a.A(), a.Bm(), a.Cm(), a.Dskip(), a.z(), a.deltaBias(),
                            a.deltaSoftplus(), a.ssmStates(), runPadding(b, a.stateIndices(), a.ssmStates().dim(0)),
                            a.out())));
            assertCaught(new SelectiveStateUpdateSpec(), broken, ref, "P");
        }
    }
}
