package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class SelectiveScanKernelTest extends ScanKernelContract {

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Selective(DType.F32, 1, 1, false, false, false, false, false, 1),
                new Selective(DType.F32, 5, 16, true, true, true, true, true, 2),
                new Selective(DType.BF16, 17, 8, true, true, false, true, false, 3),
                new Selective(DType.F16, 16, 7, false, true, true, true, true, 4),
                new Selective(DType.F32, 33, 17, true, false, true, false, false, 5));
    }

    @Override
    double simdOutTolerance(DType dt) {
        // the vector exp and the lane-wise Σ_n change the last bits of f32 values; a once-rounded
        // bf16/f16 output can then move by one ulp
        return dt == DType.F32 ? 1e-11 : 1e-6;
    }

    @Override
    double simdStateTolerance() {
        return 1e-11;
    }

    /** D = N = 1, A = −1, B = 2, C = 3, u = 4, Dskip = 0.5; state 1; returns [out, state]. */
    private static float[] step(Backend b, float delta, boolean softplus, Float z, int init) {
        Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {1}, 1, 1, 1);
        Tensor out = b.allocate(DType.F32, 1, 1);
        b.selectiveScan(new SelectiveScan(Tensors.fromFloats(b, DType.F32, new float[] {4}, 1, 1),
                Tensors.fromFloats(b, DType.F32, new float[] {delta}, 1, 1),
                Tensors.fromFloats(b, DType.F32, new float[] {-1}, 1, 1),
                Tensors.fromFloats(b, DType.F32, new float[] {2}, 1, 1),
                Tensors.fromFloats(b, DType.F32, new float[] {3}, 1, 1),
                Tensors.fromFloats(b, DType.F32, new float[] {0.5f}, 1),
                z == null ? null : Tensors.fromFloats(b, DType.F32, new float[] {z}, 1, 1), null, softplus, states,
                batch(b, Batch.of(new int[] {1}, new int[] {0}, new int[] {init})), out));
        return new float[] {Tensors.toFloats(out)[0], Tensors.toFloats(states)[0]};
    }

    @Test
    void handCheckedStep() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                // δ = 0.5: h = e^-0.5·1 + 0.5·2·4; y = 3h + 0.5·4
                double h = Math.exp(-0.5) + 4;
                float[] r = step(b, 0.5f, false, null, 1);
                assertEquals(h, r[1], 1e-6);
                assertEquals(3 * h + 2, r[0], 1e-5);
                // fresh: h = 4, y = 14; z = 1 gates by silu(1)
                r = step(b, 0.5f, false, 1f, 0);
                assertEquals(4, r[1], 1e-6);
                assertEquals(14 / (1 + Math.exp(-1)), r[0], 1e-5);
                // softplus(0) = ln 2
                r = step(b, 0f, true, null, 1);
                double d = Math.log(2);
                assertEquals(Math.exp(-d) + d * 8, r[1], 1e-6);
            }
        }
    }
}
