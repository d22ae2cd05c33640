package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Rotary;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class RotarySpecTest {

    /** Rotary on the host in f64; {@code positionIsTokenIndex} uses t instead of positions[t] (clamped to the cache). */
    static void host(Rotary a, boolean positionIsTokenIndex) {
        int[] pos = Tensors.toInts(a.positions());
        float[] cs = Tensors.toFloats(a.cosSin());
        int rd = a.rotaryDim(), half = rd / 2, d = a.headSize();
        for (Tensor x : a.k() == null ? new Tensor[] {a.q()} : new Tensor[] {a.q(), a.k()}) {
            float[] v = Tensors.toFloats(x);
            int cols = x.cols();
            for (int t = 0; t < pos.length; t++) {
                int p = positionIsTokenIndex ? Math.min(t, a.cosSin().dim(0) - 1) : pos[t];
                for (int h0 = 0; h0 < cols; h0 += d) {
                    for (int i = 0; i < half; i++) {
                        int ia = t * cols + h0 + (a.neox() ? i : 2 * i);
                        int ib = a.neox() ? ia + half : ia + 1;
                        double c = cs[p * rd + i], s = cs[p * rd + half + i], va = v[ia], vb = v[ib];
                        v[ia] = (float) (va * c - vb * s);
                        v[ib] = (float) (vb * c + va * s);
                    }
                }
            }
            Tensors.writeFloats(x, v);
        }
    }

    @Test
    void foundByConvention() {
        assertInstanceOf(RotarySpec.class, Specs.of(OpKind.ROTARY));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new RotarySpec());
    }

    @Test
    void anIndependentF64HostImplementationPasses() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new RotarySpec(), replacing(real, Rotary.class, a -> host(a, false)), ref, 20);
        }
    }

    @Test
    void usingTheTokenIndexAsPositionFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertFails(new RotarySpec(), replacing(real, Rotary.class, a -> host(a, true)), ref);
        }
    }

    @Test
    void neoxPairsForAGptjModelFail() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Rotary.class, a -> real.rotary(new Rotary(a.positions(), a.q(), a.k(),
                    a.cosSin(), a.headSize(), a.rotaryDim(), true)));
            var rs = assertFails(new RotarySpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .noneMatch(r -> r.name().contains(",neox")), failures(rs));
        }
    }
}
