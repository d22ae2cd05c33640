package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class CausalConv1dUpdateKernelTest extends ScanKernelContract {

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Conv(DType.F32, DType.F32, 1, 2, true, false, false, 1),
                new Conv(DType.F32, DType.F32, 9, 4, true, true, true, 2),
                new Conv(DType.BF16, DType.BF16, 16, 3, false, true, false, 3),
                new Conv(DType.F16, DType.F32, 7, 4, true, false, true, 4),
                new Conv(DType.F32, DType.BF16, 129, 3, true, true, false, 5));
    }

    @Override
    boolean decodeOp() {
        return true;
    }

    @Override
    double simdOutTolerance(DType dt) {
        return dt == DType.F32 ? 1e-12 : 1e-6; // only SiLU's vector exp differs (see CausalConv1dKernelTest)
    }

    @Override
    double simdStateTolerance() {
        return 0;
    }

    @Test
    void handCheckedStep() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                // two sequences in slots 1 and 0, w = [1, 2, 3], no bias; slot 2 untouched
                Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 10, 20, 7, 7}, 3, 2, 1);
                Tensor out = b.allocate(DType.F32, 3, 1);
                b.causalConv1dUpdate(new CausalConv1dUpdate(Tensors.fromFloats(b, DType.F32, new float[] {5, 4, 9}, 3, 1),
                        Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3}, 1, 3), null, states,
                        Tensors.fromInts(b, new int[] {1, 0, -1}, 3), false, out));
                // slot 1: e = [10, 20, 5] → 10+40+15 = 65; slot 0: e = [1, 2, 4] → 1+4+12 = 17; padded row stays 0
                assertArrayEquals(new float[] {65, 17, 0}, Tensors.toFloats(out));
                assertArrayEquals(new float[] {2, 4, 20, 5, 7, 7}, Tensors.toFloats(states));
            }
        }
    }
}
