package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class BinarySpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(BinarySpec.class, Specs.of(OpKind.BINARY));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new BinarySpec());
    }

    @Test
    void roundingTheInputsToOutsDtypeFirstFails() {
        // a (+|×) b with each input first rounded to out's dtype: a double rounding the contract forbids
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Binary.class, a -> {
                float[] x = Tensors.toFloats(a.a()), y = Tensors.toFloats(a.b());
                int cols = a.a().cols();
                float[] o = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    float p = Numerics.roundTo(a.out().dtype(), x[i]);
                    float q = Numerics.roundTo(a.out().dtype(), y[a.broadcastsB() ? i % cols : i]);
                    o[i] = a.op() == Binary.Op.ADD ? p + q : p * q;
                }
                Tensors.writeFloats(a.out(), o);
            });
            assertFails(new BinarySpec(), broken, ref);
        }
    }
}
