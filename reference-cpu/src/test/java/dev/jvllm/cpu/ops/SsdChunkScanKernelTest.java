package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class SsdChunkScanKernelTest extends ScanKernelContract {
    static final float INF = Float.POSITIVE_INFINITY;

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Ssd(DType.F32, 1, 1, 1, 1, false, false, false, 0, INF, false, 1),
                new Ssd(DType.F32, 4, 4, 2, 16, true, true, true, 0, INF, true, 2),
                new Ssd(DType.BF16, 2, 8, 1, 17, true, true, true, 0.001f, 0.1f, false, 3),
                new Ssd(DType.F16, 4, 3, 4, 8, false, true, true, 0, INF, true, 4),
                new Ssd(DType.F32, 2, 33, 1, 64, true, false, false, 0, 0.05f, false, 5));
    }

    @Override
    double simdOutTolerance(DType dt) {
        // only Σ_n is summed lane-wise; a once-rounded bf16/f16 output can move by one ulp
        return dt == DType.F32 ? 1e-11 : 1e-6;
    }

    @Override
    double simdStateTolerance() {
        return 0; // the state update is the same scalar-per-lane arithmetic in both forms
    }

    /**
     * H = 2 heads, P = N = 1, G = 2 (head h reads group h); A = [−1, −2]; two tokens x = [1, 2] then
     * [0, 0]; dt = [0.5, 1] both times. Returns out [2, 2] then the state [2].
     */
    private static float[][] twoTokens(Backend b, float dtMax) {
        Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {9, 9}, 1, 2, 1, 1);
        Tensor out = b.allocate(DType.F32, 2, 2);
        b.ssdChunkScan(new SsdChunkScan(Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 0, 0}, 2, 2),
                Tensors.fromFloats(b, DType.F32, new float[] {0.5f, 1, 0.5f, 1}, 2, 2),
                Tensors.fromFloats(b, DType.F32, new float[] {-1, -2}, 2),
                Tensors.fromFloats(b, DType.F32, new float[] {2, 3, 2, 3}, 2, 2),
                Tensors.fromFloats(b, DType.F32, new float[] {5, 7, 5, 7}, 2, 2), null, null, false, 0, dtMax, 2, 1,
                states, batch(b, Batch.of(new int[] {2}, new int[] {0}, new int[] {0})), out));
        return new float[][] {Tensors.toFloats(out), Tensors.toFloats(states)};
    }

    @Test
    void handCheckedGroupsDecayAndClamp() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                // fresh (old 9s ignored). Token 0: s0 = 0.5·2·1 = 1 → y0 = 5; s1 = 1·3·2 = 6 → y1 = 42.
                // Token 1 (x = 0): s0 = e^-0.5, s1 = 6·e^-2.
                float[][] r = twoTokens(b, INF);
                assertEquals(5, r[0][0], 1e-6);
                assertEquals(42, r[0][1], 1e-5);
                assertEquals(5 * Math.exp(-0.5), r[0][2], 1e-5);
                assertEquals(42 * Math.exp(-2), r[0][3], 1e-5);
                assertEquals(Math.exp(-0.5), r[1][0], 1e-6);
                assertEquals(6 * Math.exp(-2), r[1][1], 1e-6);
                // dtMax = 0.25 clamps both heads: s0 = 0.25·2 = 0.5 → 2.5; s1 = 0.25·3·2 = 1.5 → 10.5
                r = twoTokens(b, 0.25f);
                assertEquals(2.5, r[0][0], 1e-6);
                assertEquals(10.5, r[0][1], 1e-5);
                assertEquals(1.5 * Math.exp(-0.5), r[1][1], 1e-6);
            }
        }
    }
}
