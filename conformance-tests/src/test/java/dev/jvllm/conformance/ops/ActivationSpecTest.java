package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class ActivationSpecTest {

    /** The ActivationKind definitions in f64 on the host; with {@code tanhForErf}, GELU_ERF uses the tanh form. */
    static void host(Activation a, boolean tanhForErf) {
        float[] x = Tensors.toFloats(a.x());
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            ActivationKind fn = tanhForErf && a.fn() == ActivationKind.GELU_ERF ? ActivationKind.GELU_TANH : a.fn();
            x[i] = (float) switch (fn) {
                case SILU -> v / (1 + Math.exp(-v));
                case GELU_ERF -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
                case GELU_TANH -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                case RELU -> Math.max(v, 0);
                case SIGMOID -> 1 / (1 + Math.exp(-v));
                case SOFTPLUS -> v > 20 ? v : Math.log1p(Math.exp(v));
                case TANH_SOFTCAP -> a.param() * Math.tanh(v / a.param());
            };
        }
        Tensors.writeFloats(a.out(), x);
    }

    /** erf from its positive-term series. */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax >= 6) {
            return Math.signum(x);
        }
        double term = ax, sum = ax;
        for (int n = 1; n < 400 && term > 1e-17 * sum; n++) {
            term *= 2 * ax * ax / (2 * n + 1);
            sum += term;
        }
        return Math.copySign(2 / Math.sqrt(Math.PI) * Math.exp(-ax * ax) * sum, x);
    }

    @Test
    void foundByConvention() {
        assertInstanceOf(ActivationSpec.class, Specs.of(OpKind.ACTIVATION));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new ActivationSpec());
    }

    @Test
    void anIndependentF64HostImplementationPasses() {
        // the tolerances admit an implementation that follows the contract another way
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new ActivationSpec(), replacing(real, Activation.class, a -> host(a, false)), ref, 20);
        }
    }

    @Test
    void theTanhApproximationForExactGeluFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new ActivationSpec(), replacing(real, Activation.class, a -> host(a, true)), ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.name().contains("gelu_erf") || r.name().endsWith("[shrunk]")), failures(rs));
        }
    }
}
