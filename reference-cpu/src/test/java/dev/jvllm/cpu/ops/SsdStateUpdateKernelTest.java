package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.SsdStateUpdate;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class SsdStateUpdateKernelTest extends ScanKernelContract {
    static final float INF = Float.POSITIVE_INFINITY;

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Ssd(DType.F32, 1, 1, 1, 1, false, false, false, 0, INF, false, 1),
                new Ssd(DType.F32, 4, 8, 2, 16, true, true, true, 0, INF, true, 2),
                new Ssd(DType.BF16, 4, 4, 4, 9, true, true, true, 0, 0.2f, false, 3),
                new Ssd(DType.F16, 2, 16, 1, 32, false, false, true, 0.01f, INF, true, 4));
    }

    @Override
    boolean decodeOp() {
        return true;
    }

    @Override
    double simdOutTolerance(DType dt) {
        return dt == DType.F32 ? 1e-11 : 1e-6; // lane-wise Σ_n (see SsdChunkScanKernelTest)
    }

    @Override
    double simdStateTolerance() {
        return 0;
    }

    @Test
    void handCheckedStep() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                // H = 2, P = N = 1, G = 1; slot 1 holds [1, 2]; A = [−1, −1]; dt 0.5 → dA = e^-0.5; B = 2, C = 3, D = 0.5
                Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {7, 7, 1, 2}, 2, 2, 1, 1);
                Tensor out = b.allocate(DType.F32, 1, 2);
                b.ssdStateUpdate(new SsdStateUpdate(Tensors.fromFloats(b, DType.F32, new float[] {4, 0}, 1, 2),
                        Tensors.fromFloats(b, DType.F32, new float[] {0.5f, 0.5f}, 1, 2),
                        Tensors.fromFloats(b, DType.F32, new float[] {-1, -1}, 2),
                        Tensors.fromFloats(b, DType.F32, new float[] {2}, 1, 1),
                        Tensors.fromFloats(b, DType.F32, new float[] {3}, 1, 1),
                        Tensors.fromFloats(b, DType.F32, new float[] {0.5f, 0.5f}, 2), null, false, 0, INF, 1, states,
                        Tensors.fromInts(b, new int[] {1}, 1), out));
                double e = Math.exp(-0.5);
                float[] s = Tensors.toFloats(states), o = Tensors.toFloats(out);
                assertEquals(e + 4, s[2], 1e-6);
                assertEquals(2 * e, s[3], 1e-6);
                assertEquals(3 * (e + 4) + 2, o[0], 1e-5);
                assertEquals(6 * e, o[1], 1e-5);
                assertArrayEquals(new float[] {7, 7}, new float[] {s[0], s[1]}, "slot 0 untouched");
            }
        }
    }
}
