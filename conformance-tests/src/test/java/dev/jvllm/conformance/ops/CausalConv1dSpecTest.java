package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class CausalConv1dSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(CausalConv1dSpec.class, Specs.of(OpKind.CAUSAL_CONV1D));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new CausalConv1dSpec());
    }

    @Test
    void readingStaleStateForFreshSequencesFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, CausalConv1d.class, (b, a) -> b.causalConv1d(new CausalConv1d(a.x(),
                    a.weight(), a.bias(), a.convStates(), alwaysContinue(b, a.batch()), a.silu(), a.out())));
            assertCaught(new CausalConv1dSpec(), broken, ref, "causal_conv1d[");
        }
    }

    @Test
    void runningPaddedSequencesFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, CausalConv1d.class, (b, a) -> {
                var s = a.batch();
                b.causalConv1d(new CausalConv1d(a.x(), a.weight(), a.bias(), a.convStates(),
                        new dev.jvllm.api.ops.StateBatch(s.queryStartLoc(),
                                runPadding(b, s.stateIndices(), a.convStates().dim(0)), s.hasInitialState()),
                        a.silu(), a.out()));
            });
            assertCaught(new CausalConv1dSpec(), broken, ref, "P");
        }
    }

    @Test
    void droppedBiasFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, CausalConv1d.class, (b, a) -> b.causalConv1d(new CausalConv1d(a.x(),
                    a.weight(), null, a.convStates(), a.batch(), a.silu(), a.out())));
            assertCaught(new CausalConv1dSpec(), broken, ref, "bias");
        }
    }

    /**
     * Canary rows of padded sequences (~3.4e38) would swamp a whole-output NMSE; the spec compares
     * the running rows on their own, so a 1% error there still fails.
     */
    @Test
    void smallErrorNextToPaddedRowsFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, CausalConv1d.class, (b, a) -> {
                b.causalConv1d(a);
                float[] o = Tensors.toFloats(a.out());
                for (int i = 0; i < o.length; i++) {
                    o[i] = Math.abs(o[i]) < 1e30f ? o[i] * 1.01f : o[i]; // canaries stay
                }
                Tensors.writeFloats(a.out(), o);
            });
            var spec = new CausalConv1dSpec();
            var padded = spec.pinned().stream().filter(c -> c.seqs().stream().anyMatch(s -> s.pad())
                    && c.seqs().stream().anyMatch(s -> !s.pad())).findFirst().orElseThrow();
            var r = Conformance.runCase(spec, padded, broken, ref, SEED);
            assertEquals(Conformance.Status.FAIL, r.status(), r.toString());
            assertTrue(r.message().contains("NMSE"), r.message()); // the 1% error is measured on the running rows
        }
    }
}
