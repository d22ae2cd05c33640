package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.SamplingSpecSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.TopLogprobs;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class TopLogprobsSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(TopLogprobsSpec.class, Specs.of(OpKind.TOP_LOGPROBS));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new TopLogprobsSpec());
    }

    @Test
    void tiesToTheHigherIdFail() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            // the right op on negated ids: reverse the columns, run, map the ids back → ties prefer higher ids
            var broken = overriding(real, TopLogprobs.class, a -> {
                int rows = a.logits().dim(0), v = a.logits().cols();
                float[] x = Tensors.toFloats(a.logits());
                float[] rev = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    rev[i] = x[i / v * v + (v - 1 - i % v)];
                }
                try (Tensor l = Tensors.fromFloats(real, DType.F32, rev, rows, v)) {
                    Tensor tok = null;
                    if (a.tokenIds() != null) {
                        int[] t = Tensors.toInts(a.tokenIds());
                        for (int i = 0; i < t.length; i++) {
                            t[i] = v - 1 - t[i];
                        }
                        tok = Tensors.fromInts(real, t, rows);
                    }
                    real.topLogprobs(new TopLogprobs(l, a.n(), a.outIds(), a.outLogprobs(), tok, a.tokenLogprob()));
                }
                int[] ids = Tensors.toInts(a.outIds());
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = v - 1 - ids[i];
                }
                Tensors.writeInts(a.outIds(), ids);
            });
            var rs = assertFails(new TopLogprobsSpec(), broken, ref);
            assertTrue(rs.stream().anyMatch(r -> r.message().contains("equal logits must rank the lower id first")),
                    failures(rs));
        }
    }

    @Test
    void aLogprobWithoutTheNormalizerFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            // returns l − max (forgets − ln Σ exp): right ids, wrong values
            var broken = overriding(real, TopLogprobs.class, a -> {
                real.topLogprobs(a);
                int rows = a.logits().dim(0), v = a.logits().cols(), n = a.n();
                float[] x = Tensors.toFloats(a.logits());
                int[] ids = Tensors.toInts(a.outIds());
                float[] lp = new float[rows * n];
                for (int b = 0; b < rows; b++) {
                    float m = Float.NEGATIVE_INFINITY;
                    for (int i = 0; i < v; i++) {
                        m = Math.max(m, x[b * v + i]);
                    }
                    for (int j = 0; j < n; j++) {
                        lp[b * n + j] = x[b * v + ids[b * n + j]] - m;
                    }
                }
                Tensors.writeFloats(a.outLogprobs(), lp);
            });
            var rs = assertFails(new TopLogprobsSpec(), broken, ref);
            assertTrue(rs.stream().anyMatch(r -> r.message().contains("outLogprobs")), failures(rs));
        }
    }
}
