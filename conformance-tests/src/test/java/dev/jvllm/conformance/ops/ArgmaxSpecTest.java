package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.SamplingSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class ArgmaxSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(ArgmaxSpec.class, Specs.of(OpKind.ARGMAX));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new ArgmaxSpec());
    }

    @Test
    void tiesToTheHighestIndexFail() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, Argmax.class, a -> {
                int v = a.logits().cols();
                float[] x = Tensors.toFloats(a.logits());
                int[] ids = new int[a.logits().dim(0)];
                for (int b = 0; b < ids.length; b++) {
                    int best = 0;
                    for (int i = 0; i < v; i++) {
                        float xi = x[b * v + i], xb = x[b * v + best];
                        if (Float.isNaN(xi) && !Float.isNaN(xb) || xi >= xb) { // >= : the last of equal maxima
                            best = i;
                        }
                    }
                    ids[b] = best;
                }
                Tensors.writeInts(a.out(), ids);
            });
            var rs = assertFails(new ArgmaxSpec(), broken, ref);
            assertTrue(rs.stream().anyMatch(r -> r.status() == Conformance.Status.FAIL && r.name().contains("ties")),
                    failures(rs));
        }
    }

    @Test
    void ignoringNaNFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, Argmax.class, a -> {
                int v = a.logits().cols();
                float[] x = Tensors.toFloats(a.logits());
                int[] ids = new int[a.logits().dim(0)];
                for (int b = 0; b < ids.length; b++) {
                    int best = 0;
                    for (int i = 1; i < v; i++) {
                        if (x[b * v + i] > x[b * v + best] || Float.isNaN(x[b * v + best])) {
                            best = i;
                        }
                    }
                    ids[b] = best;
                }
                Tensors.writeInts(a.out(), ids);
            });
            var rs = assertFails(new ArgmaxSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.name().contains("nan-inf") || r.name().contains("shrunk")), failures(rs));
        }
    }
}
