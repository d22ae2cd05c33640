package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.AttentionMoeSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class PagedAttentionSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(PagedAttentionSpec.class, Specs.of(OpKind.PAGED_ATTENTION));
    }

    @Test
    void simdFormMatchesScalarForm() {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            assertPasses(new PagedAttentionSpec(), si, sc, 20);
        }
    }

    @Test
    void anF64HostImplementationOfTheContractPasses() {
        // the tolerances leave room for any implementation that follows the contract
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            assertPasses(new PagedAttentionSpec(), replacing(real, PagedAttention.class,
                    a -> hostAttention(a, AttentionBug.NONE)), ref, 20);
        }
    }

    /** The bug fails the suite, and every failing case names one of {@code mustName} (none: any case may fail). */
    private static void assertBugFails(AttentionBug bug, String... mustName) {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var rs = assertFails(new PagedAttentionSpec(), replacing(real, PagedAttention.class,
                    a -> hostAttention(a, bug)), ref);
            if (mustName.length > 0) {
                assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                        .allMatch(r -> java.util.Arrays.stream(mustName)
                                .anyMatch(m -> r.name().contains(m) || r.message().contains(m))), failures(rs));
            }
        }
    }

    @Test
    void offByOneSlidingWindowFails() {
        assertBugFails(AttentionBug.WINDOW_OFF_BY_ONE, "win=");
    }

    @Test
    void wrongGqaMappingFails() {
        assertBugFails(AttentionBug.GQA_MODULO, "kv=2", "kv=4"); // one KV head maps any way right
    }

    @Test
    void readingPastTheSequenceEndFails() {
        assertBugFails(AttentionBug.READ_WHOLE_LAST_BLOCK);
    }

    @Test
    void ignoringSoftCapFails() {
        assertBugFails(AttentionBug.NO_SOFTCAP, "cap=");
    }
}
