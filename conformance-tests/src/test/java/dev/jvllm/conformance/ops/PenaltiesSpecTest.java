package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.SamplingSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class PenaltiesSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(PenaltiesSpec.class, Specs.of(OpKind.PENALTIES));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new PenaltiesSpec());
    }

    @Test
    void countingPromptTokensForFrequencyAndPresenceFails() {
        // a classic mistake: frequency/presence over prompt ∪ output instead of the output alone
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, Penalties.class, a -> {
                int rows = a.logits().dim(0);
                int lp = a.promptTokens().cols(), lo = a.outputTokens().cols();
                int[] p = Tensors.toInts(a.promptTokens());
                int[] o = Tensors.toInts(a.outputTokens());
                int[] both = new int[rows * (lp + lo)];
                for (int b = 0; b < rows; b++) {
                    System.arraycopy(p, b * lp, both, b * (lp + lo), lp);
                    System.arraycopy(o, b * lo, both, b * (lp + lo) + lp, lo);
                }
                try (Tensor all = Tensors.fromInts(real, both, rows, lp + lo)) {
                    real.penalties(new Penalties(a.logits(), a.promptTokens(), all, a.repetition(), a.presence(),
                            a.frequency()));
                }
            });
            var rs = assertFails(new PenaltiesSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.name().contains("neutral"))
                    .allMatch(r -> r.status() == Conformance.Status.PASS), "neutral penalties change nothing: " + rs);
        }
    }
}
