package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class SsdStateUpdateSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(SsdStateUpdateSpec.class, Specs.of(OpKind.SSD_STATE_UPDATE));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new SsdStateUpdateSpec());
    }

    @Test
    void droppedSkipConnectionFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, SsdStateUpdate.class, (b, a) -> b.ssdStateUpdate(new SsdStateUpdate(a.x(),
                    a.dt(), a.A(), a.B(), a.C(), null, a.dtBias(), a.dtSoftplus(), a.dtMin(), a.dtMax(), a.nGroups(),
                    a.ssmStates(), a.stateIndices(), a.out())));
            assertCaught(new SsdStateUpdateSpec(), broken, ref, ",D");
        }
    }
}
