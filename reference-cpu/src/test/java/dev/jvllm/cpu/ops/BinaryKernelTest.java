package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Binary;
import org.junit.jupiter.api.Test;

class BinaryKernelTest {

    /** The naive expectation: the exact f64 result of two f32 values, rounded to f32 (= one f32 op), then to out. */
    private static float[] naive(Binary.Op op, float[] a, float[] b, boolean broadcast, int cols, DType out) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            double x = a[i], y = b[broadcast ? i % cols : i];
            r[i] = Numerics.roundTo(out, (float) (op == Binary.Op.ADD ? x + y : x * y));
        }
        return r;
    }

    @Test
    void handCheckedAddAndBroadcastMul() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor x = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor y = Tensors.fromFloats(b, DType.F32, new float[] {10, 20, 30, 40, 50, 60}, 2, 3);
            Tensor out = b.allocate(DType.F32, 2, 3);
            b.binary(new Binary(Binary.Op.ADD, x, y, out));
            assertArrayEquals(new float[] {11, 22, 33, 44, 55, 66}, Tensors.toFloats(out), 0f);
            Tensor w = Tensors.fromFloats(b, DType.BF16, new float[] {2, -1, 0.5f}, 3);
            b.binary(new Binary(Binary.Op.MUL, x, w, out));
            assertArrayEquals(new float[] {2, -2, 1.5f, 8, -5, 3}, Tensors.toFloats(out), 0f);
        }
    }

    @Test
    void everyDtypeMixStrideAndBroadcastMatchesTheNaiveResultExactly() {
        int rows = 3, cols = Tiles.TILE_COLS + 19; // two tiles per row, a ragged tail
        float[] av = random(1, rows * cols, -3, 3);
        float[] bv = random(2, rows * cols, -3, 3);
        int combo = 0;
        for (DType at : FLOATS) {
            for (DType bt : FLOATS) {
                for (DType ot : FLOATS) {
                    // each dtype triple once; op and broadcast vary with it so both appear with every dtype
                    Binary.Op op = combo % 2 == 0 ? Binary.Op.ADD : Binary.Op.MUL;
                    boolean broadcast = combo / 2 % 2 == 0;
                    combo++;
                    for (Backend be : new Backend[] {SCALAR, SIMD}) {
                        Tensor a = strided(be, at, av, rows, cols, 1, 0, 0f);
                        Tensor b = broadcast ? Tensors.fromFloats(be, bt, java.util.Arrays.copyOf(bv, cols), cols)
                                : strided(be, bt, bv, rows, cols, 0, 2, 0f);
                        Tensor out = be.allocate(ot, rows, cols + 1).narrowLast(1, cols);
                        be.binary(new Binary(op, a, b, out));
                        float[] want = naive(op, rounded(at, av), rounded(bt, bv), broadcast, cols, ot);
                        assertArrayEquals(want, Tensors.toFloats(out), 0f,
                                op + " " + at + "," + bt + "->" + ot + " bcast=" + broadcast + " " + be.description());
                    }
                }
            }
        }
    }

    @Test
    void inPlaceIntoEitherOperand() {
        int rows = 3, cols = 37;
        float[] av = random(3, rows * cols, -2, 2);
        float[] bv = random(4, rows * cols, -2, 2);
        for (Backend be : new Backend[] {SCALAR, SIMD}) {
            Tensor a = Tensors.fromFloats(be, DType.BF16, av, rows, cols);
            Tensor b = Tensors.fromFloats(be, DType.BF16, bv, rows, cols);
            be.binary(new Binary(Binary.Op.ADD, a, b, a));
            float[] want = naive(Binary.Op.ADD, rounded(DType.BF16, av), rounded(DType.BF16, bv), false, cols, DType.BF16);
            assertArrayEquals(want, Tensors.toFloats(a), 0f, "out == a");
            be.binary(new Binary(Binary.Op.MUL, a, b, b));
            assertArrayEquals(naive(Binary.Op.MUL, want, rounded(DType.BF16, bv), false, cols, DType.BF16),
                    Tensors.toFloats(b), 0f, "out == b");
        }
    }

    @Test
    void rank3AndEmptyAndUnsupported() {
        for (Backend be : new Backend[] {SCALAR, SIMD}) {
            float[] av = random(5, 2 * 3 * 4, -1, 1);
            Tensor a = Tensors.fromFloats(be, DType.F32, av, 2, 3, 4);
            Tensor bias = Tensors.fromFloats(be, DType.F32, new float[] {1, 2, 3, 4}, 4);
            Tensor out = be.allocate(DType.F32, 2, 3, 4);
            be.binary(new Binary(Binary.Op.ADD, a, bias, out));
            assertArrayEquals(naive(Binary.Op.ADD, av, new float[] {1, 2, 3, 4}, true, 4, DType.F32), Tensors.toFloats(out), 0f);
            be.binary(new Binary(Binary.Op.ADD, be.allocate(DType.F32, 0, 4), bias, be.allocate(DType.F32, 0, 4)));
        }
        Tensor i = SIMD.allocate(DType.I32, 2, 2);
        assertFalse(SIMD.supports(new Binary(Binary.Op.ADD, i, i, i)));
    }
}
