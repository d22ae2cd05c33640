package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.SamplingSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.api.ops.SamplingRandom;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class SampleSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(SampleSpec.class, Specs.of(OpKind.SAMPLE));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new SampleSpec());
    }

    @Test
    void anOffByOneRandomOffsetFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, Sample.class, a -> {
                ByteBuffer bb = ByteBuffer.wrap(Tensors.toBytes(a.offsets())).order(ByteOrder.LITTLE_ENDIAN);
                long[] off = new long[(int) a.offsets().numel()];
                for (int i = 0; i < off.length; i++) {
                    off[i] = bb.getLong() + 1;
                }
                try (Tensor o = Tensors.fromLongs(real, off, off.length)) {
                    real.sample(new Sample(a.logits(), a.temperature(), a.topK(), a.topP(), a.minP(), a.seeds(), o,
                            a.out()));
                }
            });
            var rs = assertFails(new SampleSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.name().contains("greedy") && !r.name().contains("B=1,V=1,"))
                    .allMatch(r -> r.status() == Conformance.Status.PASS), "greedy rows do not draw: " + rs);
            assertTrue(rs.stream().anyMatch(r -> r.message().contains("so the ids must match")), failures(rs));
        }
    }

    @Test
    void topPOnTheFullMassInsteadOfTheKeptMassFails() {
        // top-k then top-p where top-p forgets to renormalize: target topP · 1 instead of topP · kept mass
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = overriding(real, Sample.class, a -> {
                int rows = a.logits().dim(0);
                float[] tp = Tensors.toFloats(a.topP());
                int[] k = Tensors.toInts(a.topK());
                for (int i = 0; i < rows; i++) {
                    if (k[i] > 0 && tp[i] < 1) {
                        tp[i] = Math.min(0.999f, tp[i] * 1.6f); // as if measured against a larger mass
                    }
                }
                try (Tensor t = Tensors.fromFloats(real, dev.jvllm.api.DType.F32, tp, rows)) {
                    real.sample(new Sample(a.logits(), a.temperature(), a.topK(), t, a.minP(), a.seeds(), a.offsets(),
                            a.out()));
                }
            });
            assertFails(new SampleSpec(), broken, ref);
        }
    }

    @Test
    void theBoundaryAllowanceIsNarrow() {
        // a row whose draw is far from every boundary is not ambiguous, one that sits on it is
        float[] x = {0f, 0f, 0f, 0f}; // p = 1/4 each, boundaries at 0.25, 0.5, 0.75
        var far = SampleSpec.analyze(x, new SampleSpec.Params(1f, 0, 1f, 0f), 0.4);
        assertFalse(far.ambiguous());
        assertEquals(0.1, far.nearest(), 1e-9);
        var on = SampleSpec.analyze(x, new SampleSpec.Params(1f, 0, 1f, 0f), 0.5 + 1e-7);
        assertTrue(on.ambiguous());
        assertEquals(java.util.Set.of(1, 2), on.plausible());
        assertTrue(SamplingRandom.uniform(1, 2) >= 0);
    }
}
