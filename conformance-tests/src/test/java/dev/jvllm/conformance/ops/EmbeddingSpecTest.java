package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.jvllm.api.ops.Embedding;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class EmbeddingSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(EmbeddingSpec.class, Specs.of(OpKind.EMBEDDING));
    }

    @Test
    void simdFormMatchesScalarForm() {
        simdMatchesScalar(new EmbeddingSpec());
    }

    @Test
    void ignoringVocabStartFails() {
        // every rank looks up as if it held the first shard
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, Embedding.class, a -> real.embedding(new Embedding(a.ids(), a.table(), 0, a.out())));
            assertFails(new EmbeddingSpec(), broken, ref);
        }
    }
}
