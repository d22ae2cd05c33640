package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class GatedActivationSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(GatedActivationSpec.class, Specs.of(OpKind.GATED_ACTIVATION));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new GatedActivationSpec());
    }

    @Test
    void swappingGateAndUpFails() {
        // f(up) · gate: the [up | gate] order some checkpoints use, applied to a [gate | up] projection
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, GatedActivation.class, a -> {
                int n = a.out().cols();
                float[] x = Tensors.toFloats(a.x());
                float[] swapped = new float[x.length];
                for (int t = 0; t < a.x().dim(0); t++) {
                    System.arraycopy(x, t * 2 * n, swapped, t * 2 * n + n, n);
                    System.arraycopy(x, t * 2 * n + n, swapped, t * 2 * n, n);
                }
                try (var xs = Tensors.fromFloats(real, a.x().dtype(), swapped, a.x().dim(0), 2 * n)) {
                    real.gatedActivation(new GatedActivation(a.fn(), xs, a.out()));
                }
            });
            assertFails(new GatedActivationSpec(), broken, ref);
        }
    }
}
