package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.AttentionMoeSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class MoeRoutingSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(MoeRoutingSpec.class, Specs.of(OpKind.MOE_ROUTING));
    }

    @Test
    void simdFormMatchesScalarForm() {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            assertPasses(new MoeRoutingSpec(), si, sc, 20);
        }
    }

    /**
     * Host routing in f64; {@code higherIdWins} breaks exact ties the wrong way; {@code jitter} scales
     * each probability by {@code 1 ± jitter} as a function of its logit (so exact ties stay exact).
     */
    private static void hostRouting(MoeRouting a, boolean higherIdWins, double jitter, boolean ignoreRenormalize) {
        int t = a.routerLogits().dim(0), e = a.routerLogits().cols(), k = a.topK();
        float[] x = Tensors.toFloats(a.routerLogits());
        float[] w = new float[t * k];
        int[] ids = new int[t * k];
        for (int ti = 0; ti < t; ti++) {
            double[] p = MoeRoutingSpec.softmax(x, ti * e, e);
            boolean[] taken = new boolean[e];
            double chosen = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < e; i++) {
                    double pi = p[i] * (1 + jitter * Math.sin(1000.0 * x[ti * e + i]));
                    double pb = best < 0 ? 0 : p[best] * (1 + jitter * Math.sin(1000.0 * x[ti * e + best]));
                    if (!taken[i] && (best < 0 || pi > pb || higherIdWins && pi == pb)) {
                        best = i;
                    }
                }
                taken[best] = true;
                ids[ti * k + j] = best;
                chosen += p[best];
            }
            for (int j = 0; j < k; j++) {
                double pj = p[ids[ti * k + j]];
                w[ti * k + j] = (float) (a.renormalize() && !ignoreRenormalize ? pj / chosen : pj);
            }
        }
        Tensors.writeFloats(a.topkWeights(), w);
        Tensors.writeInts(a.topkIds(), ids);
    }

    @Test
    void anF64HostRoutingPassesEvenWithNearTiesSwapped() {
        // f64 probabilities order the near-ties of the "ties" cases (1..3 ulps apart) differently from f32
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new MoeRoutingSpec(), replacing(real, MoeRouting.class, a -> hostRouting(a, false, 0, false)),
                    ref, 20);
        }
    }

    @Test
    void tiesToTheHigherIdFail() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new MoeRoutingSpec(), replacing(real, MoeRouting.class,
                    a -> hostRouting(a, true, 0, false)), ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.message().contains("tie")), failures(rs));
        }
    }

    @Test
    void reorderingExpertsThatAreNotNearTiesFails() {
        // a 3% error in the probabilities used for ranking swaps experts that are clearly apart
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new MoeRoutingSpec(), replacing(real, MoeRouting.class,
                    a -> hostRouting(a, false, 3e-2, false)), ref);
            assertTrue(rs.stream().anyMatch(r -> r.message().contains("comes after") || r.message().contains("is not picked")),
                    failures(rs));
        }
    }

    @Test
    void ignoringRenormalizeFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new MoeRoutingSpec(), replacing(real, MoeRouting.class,
                    a -> hostRouting(a, false, 0, true)), ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.name().contains("renorm") && r.message().contains("topkWeights")), failures(rs));
        }
    }
}
