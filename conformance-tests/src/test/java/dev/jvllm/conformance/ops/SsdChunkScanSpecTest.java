package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class SsdChunkScanSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(SsdChunkScanSpec.class, Specs.of(OpKind.SSD_CHUNK_SCAN));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new SsdChunkScanSpec());
    }

    @Test
    void everyHeadReadingGroupZeroFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, SsdChunkScan.class, (b, a) -> {
                int n = a.stateSize();
                b.ssdChunkScan(new SsdChunkScan(a.x(), a.dt(), a.A(), a.B().narrowLast(0, n), a.C().narrowLast(0, n),
                        a.D(), a.dtBias(), a.dtSoftplus(), a.dtMin(), a.dtMax(), 1, a.chunkSize(), a.ssmStates(),
                        a.batch(), a.out()));
            });
            assertCaught(new SsdChunkScanSpec(), broken, ref, "G=");
        }
    }

    @Test
    void ignoringTheDtClampFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, SsdChunkScan.class, (b, a) -> b.ssdChunkScan(new SsdChunkScan(a.x(), a.dt(),
                    a.A(), a.B(), a.C(), a.D(), a.dtBias(), a.dtSoftplus(), 0f, Float.POSITIVE_INFINITY, a.nGroups(),
                    a.chunkSize(), a.ssmStates(), a.batch(), a.out())));
            assertCaught(new SsdChunkScanSpec(), broken, ref, "clamp");
        }
    }
}
