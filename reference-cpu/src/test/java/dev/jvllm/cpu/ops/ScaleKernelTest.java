package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Scale;
import org.junit.jupiter.api.Test;

class ScaleKernelTest {

    @Test
    void handChecked() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {1, -2, 0.5f, 0}, 4);
            b.scale(new Scale(x, -3f, x));
            assertArrayEquals(new float[] {-3, 6, -1.5f, -0f}, Tensors.toFloats(x), 0f);
        }
    }

    @Test
    void everyDtypePairWithStridesMatchesTheNaiveResultExactly() {
        int rows = 4, cols = Tiles.TILE_COLS + 5;
        float[] xv = random(7, rows * cols, -100, 100);
        float factor = 0.0883883476f; // 1/sqrt(128)
        for (DType xt : FLOATS) {
            for (DType ot : FLOATS) {
                for (Backend b : new Backend[] {SCALAR, SIMD}) {
                    Tensor x = strided(b, xt, xv, rows, cols, 3, 0, 0f);
                    Tensor out = b.allocate(ot, rows, cols + 2).narrowLast(0, cols);
                    b.scale(new Scale(x, factor, out));
                    float[] r = rounded(xt, xv);
                    float[] want = new float[r.length];
                    for (int i = 0; i < r.length; i++) {
                        want[i] = Numerics.roundTo(ot, (float) ((double) r[i] * factor));
                    }
                    assertArrayEquals(want, Tensors.toFloats(out), 0f, xt + "->" + ot + " " + b.description());
                }
            }
        }
    }

    @Test
    void inPlaceOnAStridedView() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] xv = random(8, 3 * 33, -1, 1);
            Tensor x = strided(b, DType.F16, xv, 3, 33, 2, 2, 4f);
            b.scale(new Scale(x, 2f, x));
            float[] r = rounded(DType.F16, xv);
            for (int i = 0; i < r.length; i++) {
                r[i] = Numerics.roundTo(DType.F16, r[i] * 2f);
            }
            assertArrayEquals(r, Tensors.toFloats(x), 0f);
            float[] all = Tensors.toFloats(parentOf(x));
            for (int row = 0; row < 3; row++) {
                assertArrayEquals(new float[] {4f, 4f}, java.util.Arrays.copyOfRange(all, row * 37, row * 37 + 2), 0f);
            }
        }
    }
}
