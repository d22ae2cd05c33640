package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class CausalConv1dKernelTest extends ScanKernelContract {

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Conv(DType.F32, DType.F32, 1, 2, false, false, false, 1),
                new Conv(DType.F32, DType.F32, 9, 4, true, true, true, 2),
                new Conv(DType.F32, DType.BF16, 17, 3, true, false, false, 3),   // state narrower than x
                new Conv(DType.BF16, DType.BF16, 8, 4, true, true, false, 4),
                new Conv(DType.BF16, DType.F32, 7, 2, false, true, true, 5),
                new Conv(DType.F16, DType.F16, 15, 3, true, true, false, 6),
                new Conv(DType.F32, DType.F32, 131, 4, true, true, false, 7));  // two 128-channel SIMD blocks
    }

    @Override
    double simdOutTolerance(DType dt) {
        // the fma chains agree bit for bit; only SiLU's vector exp may differ in the last ulp, which
        // can move a once-rounded bf16/f16 output by one ulp
        return dt == DType.F32 ? 1e-12 : 1e-6;
    }

    @Override
    double simdStateTolerance() {
        return 0; // the state is a copy of inputs
    }

    /** w = [1, 2, 3], bias 0.5, state [10, 20] (oldest first). */
    private static float[][] handCase(Backend b, float[] x, int[] lens, int[] init, boolean silu) {
        Tensor xs = Tensors.fromFloats(b, DType.F32, x, x.length, 1);
        Tensor out = b.allocate(DType.F32, x.length, 1);
        Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {10, 20, 7, 7}, 2, 2, 1);
        int[] slots = new int[lens.length];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = i == 0 ? 0 : -1;
        }
        b.causalConv1d(new CausalConv1d(xs, Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3}, 1, 3),
                Tensors.fromFloats(b, DType.F32, new float[] {0.5f}, 1), states, batch(b, Batch.of(lens, slots, init)),
                silu, out));
        return new float[][] {Tensors.toFloats(out), Tensors.toFloats(states)};
    }

    @Test
    void handCheckedSequences() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                // continued: e = [10, 20, 1, 2] → 0.5+10+40+3 = 53.5, 0.5+20+2+6 = 28.5; state [1, 2]
                float[][] r = handCase(b, new float[] {1, 2}, new int[] {2}, new int[] {1}, false);
                assertArrayEquals(new float[] {53.5f, 28.5f}, r[0]);
                assertArrayEquals(new float[] {1, 2, 7, 7}, r[1], "slot 1 untouched");
                // fresh: e = [0, 0, 1, 2] → 3.5, 8.5; the old state is ignored
                r = handCase(b, new float[] {1, 2}, new int[] {2}, new int[] {0}, false);
                assertArrayEquals(new float[] {3.5f, 8.5f}, r[0]);
                assertArrayEquals(new float[] {1, 2, 7, 7}, r[1]);
                // L = 1 < K−1: e = [10, 20, 5] → 0.5+10+40+15 = 65.5; state shifts to [20, 5]
                r = handCase(b, new float[] {5}, new int[] {1}, new int[] {1}, false);
                assertArrayEquals(new float[] {65.5f}, r[0]);
                assertArrayEquals(new float[] {20, 5, 7, 7}, r[1]);
                // fresh with L = 1: state [0, 5]
                r = handCase(b, new float[] {5}, new int[] {1}, new int[] {0}, false);
                assertArrayEquals(new float[] {15.5f}, r[0]);
                assertArrayEquals(new float[] {0, 5, 7, 7}, r[1]);
                // SiLU: silu(3.5) = 3.5 / (1 + e^-3.5)
                r = handCase(b, new float[] {1}, new int[] {1}, new int[] {0}, true);
                assertEquals(3.5 / (1 + Math.exp(-3.5)), r[0][0], 1e-6);
                // a padded second sequence: its row keeps the zero the output was allocated with
                r = handCase(b, new float[] {1, 9}, new int[] {1, 1}, new int[] {0, 1}, false);
                assertArrayEquals(new float[] {3.5f, 0f}, r[0]);
                assertArrayEquals(new float[] {0, 1, 7, 7}, r[1]);
            }
        }
    }

    private static void run(Backend b, int[] qsl, int[] slots, int tokens, int poolSlots) {
        b.causalConv1d(new CausalConv1d(b.allocate(DType.F32, tokens, 3), b.allocate(DType.F32, 3, 2), null,
                b.allocate(DType.F32, poolSlots, 1, 3),
                new dev.jvllm.api.ops.StateBatch(Tensors.fromInts(b, qsl, qsl.length),
                        Tensors.fromInts(b, slots, slots.length), Tensors.fromInts(b, new int[slots.length], slots.length)),
                false, b.allocate(DType.F32, tokens, 3)));
    }

    @Test
    void badMetadataIsRejectedWithTheArgumentNamed() {
        try (CpuBackend b = simd()) {
            var e = assertThrows(IllegalArgumentException.class, () -> run(b, new int[] {0, 2}, new int[] {4}, 2, 4));
            assertTrue(e.getMessage().contains("stateIndices[0]=4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> run(b, new int[] {0, 1, 2}, new int[] {1, 1}, 2, 4));
            assertTrue(e.getMessage().contains("slot 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> run(b, new int[] {0, 3}, new int[] {0}, 2, 4));
            assertTrue(e.getMessage().contains("queryStartLoc"), e.getMessage());
            // a padded sequence's offsets and slot are not looked at
            assertDoesNotThrow(() -> run(b, new int[] {0, 2, 99}, new int[] {0, -1}, 2, 4));
        }
    }

    @Test
    void supportsFloatDtypesOnly() {
        try (CpuBackend b = simd()) {
            Tensor x = b.allocate(DType.BF16, 2, 4);
            Tensor states = b.allocate(DType.F16, 1, 2, 4);
            var batch = batch(b, Batch.of(new int[] {2}, new int[] {0}, new int[] {0}));
            assertTrue(b.supports(new CausalConv1d(x, b.allocate(DType.F32, 4, 3), null, states, batch, true,
                    b.allocate(DType.F16, 2, 4))));
            assertFalse(b.supports(new CausalConv1d(b.allocate(DType.I32, 2, 4), b.allocate(DType.F32, 4, 3), null,
                    states, batch, true, b.allocate(DType.F32, 2, 4))));
            assertFalse(b.supports(new CausalConv1d(x, b.allocate(DType.F8_E4M3, 4, 3), null, states, batch, true,
                    b.allocate(DType.F32, 2, 4))));
        }
    }
}
