package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LayerNorm;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class LayerNormSpecTest {

    /** LayerNorm on the host in f64; {@code unbiased} divides the variance by H − 1 (torch.var's default). */
    static void host(LayerNorm a, boolean unbiased) {
        int t = a.x().dim(0), h = a.x().cols();
        float[] x = Tensors.toFloats(a.x()), w = Tensors.toFloats(a.weight());
        float[] b = a.bias() == null ? new float[h] : Tensors.toFloats(a.bias());
        for (int i = 0; i < t; i++) {
            double mean = 0, var = 0;
            for (int j = 0; j < h; j++) {
                mean += x[i * h + j];
            }
            mean /= h;
            for (int j = 0; j < h; j++) {
                var += (x[i * h + j] - mean) * (x[i * h + j] - mean);
            }
            var /= unbiased ? Math.max(1, h - 1) : h;
            double inv = 1 / Math.sqrt(var + a.eps());
            for (int j = 0; j < h; j++) {
                x[i * h + j] = (float) ((x[i * h + j] - mean) * inv * w[j] + b[j]);
            }
        }
        Tensors.writeFloats(a.out(), x);
    }

    @Test
    void foundByConvention() {
        assertInstanceOf(LayerNormSpec.class, Specs.of(OpKind.LAYER_NORM));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new LayerNormSpec());
    }

    @Test
    void anIndependentF64HostImplementationPasses() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new LayerNormSpec(), replacing(real, LayerNorm.class, a -> host(a, false)), ref, 20);
        }
    }

    @Test
    void theUnbiasedVarianceFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertFails(new LayerNormSpec(), replacing(real, LayerNorm.class, a -> host(a, true)), ref);
        }
    }
}
