package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.ScanSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class ShortConvSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(ShortConvSpec.class, Specs.of(OpKind.SHORT_CONV));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new ShortConvSpec());
    }

    @Test
    void readingStaleStateForFreshSequencesFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, ShortConv.class, (b, a) -> b.shortConv(new ShortConv(a.bcx(), a.weight(),
                    a.bias(), a.convStates(), alwaysContinue(b, a.batch()), a.out())));
            assertCaught(new ShortConvSpec(), broken, ref, "short_conv[");
        }
    }
}
