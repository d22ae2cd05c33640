package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.ScanTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinearAttentionKernelTest extends ScanKernelContract {

    @Override
    List<Fixture> fixtures() {
        return List.of(
                new Lightning(DType.F32, 1, 1, false, 1),
                new Lightning(DType.F32, 2, 16, true, 2),
                new Lightning(DType.BF16, 1, 17, false, 3),
                new Lightning(DType.F16, 3, 8, true, 4),
                new Lightning(DType.F32, 1, 64, false, 5));
    }

    @Override
    double naiveTolerance(DType dt) {
        // outputs sum D·L products of similar sign: f32 accumulation error stays ~1e-6 relative
        return dt == DType.F32 ? 1e-10 : 1e-5;
    }

    @Override
    double simdOutTolerance(DType dt) {
        return 0; // the fused row pass performs the scalar form's operations in the same order
    }

    @Override
    double simdStateTolerance() {
        return 0;
    }

    @Test
    void handCheckedStep() {
        try (CpuBackend sc = scalar(); CpuBackend si = simd()) {
            for (CpuBackend b : new CpuBackend[] {sc, si}) {
                for (int init = 0; init <= 1; init++) {
                    // H = 1, D = 2, slope ln 2 → λ = 0.5; S = [[1, 2], [3, 4]]; q = [1, 1], k = [1, 0], v = [2, 2]
                    Tensor states = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
                    Tensor out = b.allocate(DType.F32, 1, 2);
                    b.linearAttention(new LinearAttention(Tensors.fromFloats(b, DType.F32, new float[] {1, 1}, 1, 2),
                            Tensors.fromFloats(b, DType.F32, new float[] {1, 0}, 1, 2),
                            Tensors.fromFloats(b, DType.F32, new float[] {2, 2}, 1, 2),
                            Tensors.fromFloats(b, DType.F32, new float[] {(float) Math.log(2)}, 1), states,
                            batch(b, Batch.of(new int[] {1}, new int[] {0}, new int[] {init})), out));
                    // continued: S = [[2.5, 3], [1.5, 2]] → o = [4, 5]; fresh: S = [[2, 2], [0, 0]] → o = [2, 2]
                    float[] s = Tensors.toFloats(states), o = Tensors.toFloats(out);
                    if (init == 1) {
                        assertArrayEquals(new float[] {2.5f, 3, 1.5f, 2}, s, 1e-6f);
                        assertArrayEquals(new float[] {4, 5}, o, 1e-6f);
                    } else {
                        assertArrayEquals(new float[] {2, 2, 0, 0}, s);
                        assertArrayEquals(new float[] {2, 2}, o);
                    }
                }
            }
        }
    }
}
