package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShortConvKernelTest extends ScanKernelContract {

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new ShortConvFix(DType.F32, DType.F32, 1, 2, false, false, 1),
                new ShortConvFix(DType.F32, DType.F32, 9, 3, true, true, 2),
                new ShortConvFix(DType.BF16, DType.BF16, 17, 3, false, false, 3),
                new ShortConvFix(DType.F16, DType.F32, 8, 4, true, true, 4),
                new ShortConvFix(DType.BF16, DType.BF16, 130, 3, true, false, 5));
    }

    @Override
    double simdOutTolerance(DType dt) {
        return 0; // same fma chain and the same scalar products in both forms
    }

    @Override
    double simdStateTolerance() {
        return 0;
    }

    @Test
    void handCheckedTokens() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                for (int init = 0; init <= 1; init++) {
                    // C = 1, K = 2, w = [1, 2]; state [3]; token B = 2, C = 10, x = 4 → Bx = 8
                    Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {3}, 1, 1, 1);
                    Tensor out = b.allocate(DType.F32, 1, 1);
                    b.shortConv(new ShortConv(Tensors.fromFloats(b, DType.F32, new float[] {2, 10, 4}, 1, 3),
                            Tensors.fromFloats(b, DType.F32, new float[] {1, 2}, 1, 2), null, states,
                            batch(b, Batch.of(new int[] {1}, new int[] {0}, new int[] {init})), out));
                    // continued: conv = 1·3 + 2·8 = 19 → 190; fresh: conv = 16 → 160; state = [Bx] = [8]
                    assertArrayEquals(new float[] {init == 1 ? 190 : 160}, Tensors.toFloats(out));
                    assertArrayEquals(new float[] {8}, Tensors.toFloats(states));
                }
            }
        }
    }
}
