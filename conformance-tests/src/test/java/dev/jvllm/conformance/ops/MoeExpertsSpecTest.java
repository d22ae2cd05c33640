package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.AttentionMoeSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class MoeExpertsSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(MoeExpertsSpec.class, Specs.of(OpKind.MOE_EXPERTS));
    }

    @Test
    void simdFormMatchesScalarForm() {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            assertPasses(new MoeExpertsSpec(), si, sc, 20);
        }
    }

    @Test
    void anF64HostImplementationOfTheContractPasses() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new MoeExpertsSpec(), replacing(real, MoeExperts.class, a -> hostMoe(a, true)), ref, 20);
        }
    }

    @Test
    void skippingTheIntermediateRoundingFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new MoeExpertsSpec(), replacing(real, MoeExperts.class, a -> hostMoe(a, false)), ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.dtype().startsWith("bf16") || r.dtype().startsWith("f16")), failures(rs));
        }
    }

    @Test
    void foldingForeignIdsIntoTheShardFails() {
        // ids outside [0, E) must contribute nothing; this candidate maps them to id mod E
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, MoeExperts.class, a -> {
                int[] ids = Tensors.toInts(a.topkIds());
                int e = a.w13().dim(0);
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = Math.floorMod(ids[i], e);
                }
                MoeExperts folded = new MoeExperts(a.x(), a.w13(), a.w2(), a.topkWeights(),
                        Tensors.fromInts(real, ids, a.topkIds().shape()), a.act(), a.out());
                real.moeExperts(folded);
            });
            var rs = assertFails(new MoeExpertsSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).allMatch(r -> r.name().contains(",ep")),
                    failures(rs));
        }
    }
}
