package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.AttentionMoeSpecSupport.*;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Specs;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class KvCacheWriteSpecTest {

    @Test
    void foundByConvention() {
        assertInstanceOf(KvCacheWriteSpec.class, Specs.of(OpKind.KV_CACHE_WRITE));
    }

    @Test
    void simdFormMatchesScalarForm() {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            assertPasses(new KvCacheWriteSpec(), si, sc, 20);
        }
    }

    @Test
    void truncatingInsteadOfRoundingFails() {
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, KvCacheWrite.class, a -> {
                if (a.kCache().dtype() != DType.BF16 || a.k().dtype() != DType.F32) {
                    real.kvCacheWrite(a);
                    return;
                }
                // f32 → bf16 by dropping the low 16 bits (round toward zero)
                int[] slots = Tensors.toInts(a.slotMapping());
                float[] k = Tensors.toFloats(a.k()), v = Tensors.toFloats(a.v());
                float[] kc = Tensors.toFloats(a.kCache()), vc = Tensors.toFloats(a.vCache());
                int w = a.k().cols();
                for (int t = 0; t < slots.length; t++) {
                    for (int j = 0; slots[t] >= 0 && j < w; j++) {
                        kc[slots[t] * w + j] = Float.intBitsToFloat(Float.floatToRawIntBits(k[t * w + j]) & 0xFFFF0000);
                        vc[slots[t] * w + j] = Float.intBitsToFloat(Float.floatToRawIntBits(v[t * w + j]) & 0xFFFF0000);
                    }
                }
                Tensors.writeFloats(a.kCache(), kc);
                Tensors.writeFloats(a.vCache(), vc);
            });
            var rs = assertFails(new KvCacheWriteSpec(), broken, ref);
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.FAIL)
                    .allMatch(r -> r.dtype().equals("f32→bf16")), failures(rs));
        }
    }

    @Test
    void clearingTheRestOfATouchedBlockFails() {
        // writes correctly, then zeroes every other slot of the blocks it wrote to
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, KvCacheWrite.class, a -> {
                real.kvCacheWrite(a);
                int[] slots = Tensors.toInts(a.slotMapping());
                int bs = a.kCache().dim(1), w = a.k().cols();
                float[] kc = Tensors.toFloats(a.kCache());
                java.util.Set<Integer> written = new java.util.HashSet<>();
                for (int s : slots) {
                    written.add(s);
                }
                for (int s : slots) {
                    for (int o = 0; s >= 0 && o < bs; o++) {
                        int slot = s / bs * bs + o;
                        if (!written.contains(slot)) {
                            java.util.Arrays.fill(kc, slot * w, slot * w + w, 0f);
                        }
                    }
                }
                Tensors.writeFloats(a.kCache(), kc);
            });
            assertFails(new KvCacheWriteSpec(), broken, ref);
        }
    }

    @Test
    void writingOutsideTheMappedSlotsFails() {
        // a stray write into the last block (often one no token maps to) must show in vCache
        try (CpuBackend ref = scalar(); CpuBackend real = simd()) {
            var broken = replacing(real, KvCacheWrite.class, a -> {
                real.kvCacheWrite(a);
                int blocks = a.kCache().dim(0);
                int rowsPerBlock = a.kCache().dim(1) * a.kCache().dim(2);
                float[] vc = Tensors.toFloats(a.vCache());
                int last = blocks - 1;
                vc[last * rowsPerBlock * a.kCache().dim(3)] += 1f;
                Tensors.writeFloats(a.vCache(), vc);
            });
            var rs = assertFails(new KvCacheWriteSpec(), broken, ref);
            assertTrue(rs.stream().anyMatch(r -> r.message().contains("vCache")), failures(rs));
        }
    }
}
