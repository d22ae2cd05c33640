package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.ops.LinearSpec;
import dev.jvllm.conformance.ops.LinearSpec.Format;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every quantized-linear kernel path (QuantLinearKernels.Path: the decode GEMV, the tensor-core
 * GEMM, the scalar fallback), each forced, against the CPU reference with the conformance suite's
 * own cases and tolerance, at shapes the random conformance cases rarely reach: K a multiple of
 * the 16-byte vectors (so the fast paths apply), K = 4096 with few features (split-K and the
 * reduction), T from 1 to 129 across the GEMV's instantiations and both tensor-core tiles, every
 * weight format with bf16, f16 and f32 activations (f32: the three-piece bf16 split) and every
 * output dtype. Skipped without a GPU.
 */
class QuantLinearPathsTest extends CudaVsCpuTest {
    private static final int[][] SHAPES = { // T, K, N (the case caps T·K·N at 2^21 by shrinking N)
        {1, 4096, 512}, {3, 4096, 170}, {8, 256, 200}, {16, 4096, 32}, {17, 512, 240}, {64, 256, 128}, {129, 128, 127}};
    private static final DType[] FLOATS = {DType.BF16, DType.F16, DType.F32};
    private static final int[] GROUPS = {128, 32, 64, 16};

    @Test
    void everyPathMatchesTheReference() {
        LinearSpec spec = new LinearSpec();
        QuantLinearKernels kernels = new QuantLinearKernels(cuda.gpu());
        Set<Format> gemv = EnumSet.noneOf(Format.class), mma = EnumSet.noneOf(Format.class);
        List<String> failures = new ArrayList<>();
        int i = 0;
        for (Format f : Format.values()) {
            if (f == Format.F32 || f == Format.BF16 || f == Format.F16) {
                continue;
            }
            for (int[] s : SHAPES) {
                i++;
                LinearSpec.Case c = new LinearSpec.Case(s[0], s[1], s[2], f, GROUPS[i % GROUPS.length], FLOATS[i % 3],
                        FLOATS[(i / 3) % 3], FLOATS[(i + 1) % 3], i % 2 == 0, i % 5 == 0);
                long seed = 1000 + i;
                try (Instance ref = spec.instantiate(c, new CaseBuilder(cpu, seed))) {
                    cpu.run(ref.args());
                    for (QuantLinearKernels.Path p : List.of(QuantLinearKernels.Path.GEMV, QuantLinearKernels.Path.MMA,
                            QuantLinearKernels.Path.FALLBACK, QuantLinearKernels.Path.AUTO)) {
                        try (Instance cand = spec.instantiate(c, new CaseBuilder(cuda, seed))) {
                            Linear op = (Linear) cand.args();
                            if (!kernels.can(op, p)) {
                                continue;
                            }
                            (p == QuantLinearKernels.Path.GEMV ? gemv : p == QuantLinearKernels.Path.MMA ? mma
                                    : EnumSet.noneOf(Format.class)).add(f);
                            kernels.run(op, p);
                            cuda.synchronize();
                            String problem = spec.compare(c, ref, cand);
                            if (problem != null) {
                                failures.add(p + " " + spec.name(c) + ": " + problem);
                            }
                        }
                    }
                }
            }
        }
        assertNull(failures.isEmpty() ? null : failures.size() + " failures:\n" + String.join("\n", failures));
        // the shapes above must reach the fast paths for every format they apply to
        assertEquals(EnumSet.complementOf(EnumSet.of(Format.F32, Format.BF16, Format.F16)), gemv, "GEMV formats");
        assertTrue(mma.containsAll(EnumSet.of(Format.FP8_TENSOR, Format.FP8_CHANNEL, Format.FP8_BLOCK, Format.INT4_SYM,
                Format.INT4_ZP, Format.INT8, Format.FP8_CHANNEL_DYNAMIC, Format.FP8_TENSOR_STATIC)), "MMA formats " + mma);
    }
}
