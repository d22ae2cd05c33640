package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class CastSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(CastSpec.class, Specs.of(OpKind.CAST));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new CastSpec());
    }

    @Test
    void truncatingToBf16Fails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Cast.class, a -> {
                if (a.dst().dtype() != DType.BF16) {
                    real.cast(a);
                    return;
                }
                float[] v = Tensors.toFloats(a.src());
                for (int i = 0; i < v.length; i++) { // round toward zero: keep the top 16 bits
                    v[i] = Float.intBitsToFloat(Float.floatToRawIntBits(v[i]) & 0xFFFF0000);
                }
                Tensors.writeFloats(a.dst(), v);
            });
            var rs = assertFails(new CastSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.name().contains("→bf16") || r.name().endsWith("[shrunk]")), failures(rs));
        }
    }

    @Test
    void fp8WithoutSaturationFails() {
        // f32 → fp8 that maps overflow to NaN (0x7F) instead of saturating at ±448
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Cast.class, a -> {
                real.cast(a);
                if (a.dst().dtype() != DType.F8_E4M3) {
                    return;
                }
                float[] s = Tensors.toFloats(a.src());
                float[] d = Tensors.toFloats(a.dst());
                for (int i = 0; i < s.length; i++) {
                    d[i] = Math.abs(s[i]) > 464 ? Float.NaN : d[i];
                }
                Tensors.writeFloats(a.dst(), d);
            });
            assertFails(new CastSpec(), broken, ref);
        }
    }
}
