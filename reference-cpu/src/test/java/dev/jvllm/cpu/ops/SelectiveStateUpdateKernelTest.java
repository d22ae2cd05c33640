package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class SelectiveStateUpdateKernelTest extends ScanKernelContract {

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Selective(DType.F32, 1, 1, false, false, false, false, false, 1),
                new Selective(DType.F32, 9, 16, true, true, true, true, true, 2),
                new Selective(DType.BF16, 17, 16, true, true, true, true, false, 3),
                new Selective(DType.F16, 8, 9, false, false, true, true, true, 4));
    }

    @Override
    boolean decodeOp() {
        return true;
    }

    @Override
    double simdOutTolerance(DType dt) {
        return dt == DType.F32 ? 1e-11 : 1e-6; // vector exp, lane-wise Σ_n (see SelectiveScanKernelTest)
    }

    @Override
    double simdStateTolerance() {
        return 1e-11;
    }

    @Test
    void handCheckedStep() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                // D = 2, N = 1: channel 0 runs (slot 1 holds h = 1), row 1 is padding; deltaBias 0.25 → δ = 0.5
                Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {5, 6, 1, 9}, 2, 2, 1);
                Tensor out = b.allocate(DType.F32, 2, 2);
                b.selectiveStateUpdate(new SelectiveStateUpdate(
                        Tensors.fromFloats(b, DType.F32, new float[] {4, 0, 1, 1}, 2, 2),
                        Tensors.fromFloats(b, DType.F32, new float[] {0.25f, 0.25f, 1, 1}, 2, 2),
                        Tensors.fromFloats(b, DType.F32, new float[] {-1, -1}, 2, 1),
                        Tensors.fromFloats(b, DType.F32, new float[] {2, 2}, 2, 1),
                        Tensors.fromFloats(b, DType.F32, new float[] {3, 3}, 2, 1), null, null,
                        Tensors.fromFloats(b, DType.F32, new float[] {0.25f, 0.25f}, 2), false, states,
                        Tensors.fromInts(b, new int[] {1, -1}, 2), out));
                float[] o = Tensors.toFloats(out), s = Tensors.toFloats(states);
                double h0 = Math.exp(-0.5) * 1 + 0.5 * 2 * 4, h1 = Math.exp(-0.5) * 9;
                assertEquals(h0, s[2], 1e-6);
                assertEquals(h1, s[3], 1e-6);
                assertEquals(3 * h0, o[0], 1e-5);
                assertEquals(3 * h1, o[1], 1e-5);
                assertArrayEquals(new float[] {0, 0}, new float[] {o[2], o[3]}, "padded row untouched");
                assertArrayEquals(new float[] {5, 6}, new float[] {s[0], s[1]}, "slot 0 untouched");
            }
        }
    }
}
