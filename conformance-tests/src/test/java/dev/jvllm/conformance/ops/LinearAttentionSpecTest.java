package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class LinearAttentionSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(LinearAttentionSpec.class, Specs.of(OpKind.LINEAR_ATTENTION));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new LinearAttentionSpec());
    }

    @Test
    void slopesOfTheWrongHeadFail() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, LinearAttention.class, (b, a) -> {
                float[] s = Tensors.toFloats(a.slopes());
                float[] reversed = new float[s.length];
                for (int i = 0; i < s.length; i++) {
                    reversed[i] = s[s.length - 1 - i];
                }
                b.linearAttention(new LinearAttention(a.q(), a.k(), a.v(),
                        Tensors.fromFloats(b, DType.F32, reversed, s.length), a.kvStates(), a.batch(), a.out()));
            });
            assertCaught(new LinearAttentionSpec(), broken, ref, "H=");
        }
    }

    @Test
    void readingStaleStateForFreshSequencesFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, LinearAttention.class, (b, a) -> b.linearAttention(new LinearAttention(a.q(),
                    a.k(), a.v(), a.slopes(), a.kvStates(), alwaysContinue(b, a.batch()), a.out())));
            assertCaught(new LinearAttentionSpec(), broken, ref, "linear_attention[");
        }
    }
}
