package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.GatherRows;
import org.junit.jupiter.api.Test;

class GatherRowsKernelTest {

    @Test
    void gathersRepeatedUnorderedRowsExactly() {
        int rows = 9, cols = 17;
        float[] vals = random(5, rows * cols, -4, 4);
        int[] idx = {8, 0, 3, 3, 8, 5};
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            for (DType dt : FLOATS) {
                Tensor src = strided(b, dt, vals, rows, cols, 2, 1, 0f);
                Tensor dst = b.allocate(dt, idx.length, cols + 4).narrowLast(4, cols);
                b.gatherRows(new GatherRows(src, Tensors.fromInts(b, idx, idx.length), dst));
                float[] want = new float[idx.length * cols];
                float[] r = rounded(dt, vals);
                for (int i = 0; i < idx.length; i++) {
                    System.arraycopy(r, idx[i] * cols, want, i * cols, cols);
                }
                assertArrayEquals(want, Tensors.toFloats(dst), 0f, dt + " " + b.description());
            }
        }
    }

    @Test
    void simdMatchesScalarOnLargeIntegerGathers() {
        int rows = 300, cols = 1000;
        int[] idx = new int[500];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = (i * 37 + 11) % rows;
        }
        Tensor[] out = new Tensor[2];
        Backend[] bs = {SCALAR, simd(7)};
        for (int k = 0; k < 2; k++) {
            int[] data = new int[rows * cols];
            for (int i = 0; i < data.length; i++) {
                data[i] = i * 2654435761L > 0 ? i : -i;
            }
            Tensor src = Tensors.fromInts(bs[k], data, rows, cols);
            out[k] = bs[k].allocate(DType.I32, idx.length, cols);
            bs[k].gatherRows(new GatherRows(src, Tensors.fromInts(bs[k], idx, idx.length), out[k]));
        }
        assertSameBits(out[0], out[1], "i32 gather");
        assertTrue(Tensors.toInts(out[0])[cols] == idx[1] * cols, "row 1 starts with element idx[1]*cols");
    }

    @Test
    void gatherIntoAnOverlappingViewUsesTheOldSource() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] vals = {0, 1, 10, 11, 20, 21, 30, 31};
            Tensor all = Tensors.fromFloats(b, DType.F32, vals, 4, 2);
            Tensor src = all.slice(0, 3);
            Tensor dst = all.slice(1, 3);
            b.gatherRows(new GatherRows(src, Tensors.fromInts(b, new int[] {2, 0, 1}, 3), dst));
            assertArrayEquals(new float[] {0, 1, 20, 21, 0, 1, 10, 11}, Tensors.toFloats(all), 0f);
        }
    }

    @Test
    void rejectsAnIndexOutsideSrcNamingIt() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            Tensor src = b.allocate(DType.F32, 3, 4);
            for (int bad : new int[] {3, -1}) {
                var e = assertThrows(IllegalArgumentException.class, () -> b.gatherRows(new GatherRows(src,
                        Tensors.fromInts(b, new int[] {0, bad}, 2), b.allocate(DType.F32, 2, 4))));
                assertTrue(e.getMessage().contains("indices[1] = " + bad), e.getMessage());
            }
        }
    }
}
