package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class SelectiveScanSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(SelectiveScanSpec.class, Specs.of(OpKind.SELECTIVE_SCAN));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new SelectiveScanSpec());
    }

    @Test
    void droppedDeltaBiasFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, SelectiveScan.class, (b, a) -> b.selectiveScan(new SelectiveScan(a.u(),
                    a.delta(), a.A(), a.B(), a.C(), a.Dskip(), a.z(), null, a.deltaSoftplus(), a.ssmStates(), a.batch(),
                    a.out())));
            assertCaught(new SelectiveScanSpec(), broken, ref, "bias");
        }
    }

    @Test
    void readingStaleStateForFreshSequencesFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, SelectiveScan.class, (b, a) -> b.selectiveScan(new SelectiveScan(a.u(),
                    a.delta(), a.A(), a.B(), a.C(), a.Dskip(), a.z(), a.deltaBias(), a.deltaSoftplus(), a.ssmStates(),
                    alwaysContinue(b, a.batch()), a.out())));
            assertCaught(new SelectiveScanSpec(), broken, ref, "selective_scan[");
        }
    }
}
