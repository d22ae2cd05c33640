package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Copy;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CopyKernelTest {

    private static Tensor randomBytes(Backend b, DType dt, long seed, int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        byte[] v = new byte[Math.toIntExact(n * dt.byteSize())];
        new SplittableRandom(seed).nextBytes(v);
        return Tensors.fromBytes(b, dt, v, shape); // writes raw little-endian bytes for any dtype
    }

    @Test
    void copiesEveryDtypeBitExactlyThroughStridedViews() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            for (DType dt : DType.values()) {
                Tensor src = randomBytes(b, dt, dt.ordinal(), 5, 13);
                Tensor dstParent = b.allocate(dt, 5, 20);
                Tensor dst = dstParent.narrowLast(3, 13);
                b.copy(new Copy(src, dst));
                assertArrayEquals(Tensors.toBytes(src), Tensors.toBytes(dst), dt + " on " + b.description());
                // and back from a strided view into a contiguous tensor
                Tensor again = b.allocate(dt, 5, 13);
                b.copy(new Copy(dst, again));
                assertArrayEquals(Tensors.toBytes(src), Tensors.toBytes(again), dt + " back");
            }
        }
    }

    @Test
    void leavesTheColumnsAroundAStridedDestinationAlone() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] vals = random(1, 4 * 9, -1, 1);
            Tensor src = Tensors.fromFloats(b, DType.BF16, vals, 4, 9);
            Tensor dst = strided(b, DType.BF16, new float[4 * 9], 4, 9, 2, 3, 7f);
            b.copy(new Copy(src, dst));
            float[] all = Tensors.toFloats(parentOf(dst));
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 14; c++) {
                    float want = c >= 2 && c < 11 ? rounded(DType.BF16, vals)[r * 9 + c - 2] : 7f;
                    assertTrue(all[r * 14 + c] == want, "row " + r + " col " + c);
                }
            }
        }
    }

    @Test
    void largeContiguousAndStridedCopiesMatchOnAnyThreadCount() {
        int rows = 700, cols = 1031; // > 1 MiB of f32: several bulk pieces
        for (int threads : new int[] {1, 2, 7}) {
            Backend b = simd(threads);
            Tensor src = randomBytes(b, DType.F32, 9, rows, cols);
            Tensor dst = b.allocate(DType.F32, rows, cols);
            b.copy(new Copy(src, dst));
            assertArrayEquals(Tensors.toBytes(src), Tensors.toBytes(dst), "contiguous, threads " + threads);
            Tensor sv = b.allocate(DType.F32, rows, cols + 5).narrowLast(5, cols);
            b.copy(new Copy(src, sv));
            assertArrayEquals(Tensors.toBytes(src), Tensors.toBytes(sv), "strided, threads " + threads);
        }
    }

    @Test
    void overlappingViewsCopyTheOldSource() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            float[] vals = new float[6 * 4];
            for (int i = 0; i < vals.length; i++) {
                vals[i] = i;
            }
            Tensor all = Tensors.fromFloats(b, DType.F32, vals, 6, 4);
            Tensor src = all.slice(0, 4);
            Tensor dst = all.slice(2, 4); // overlaps src rows 2, 3
            b.copy(new Copy(src, dst));
            float[] got = Tensors.toFloats(all);
            float[] want = vals.clone();
            System.arraycopy(vals, 0, want, 8, 16);
            assertArrayEquals(want, got, 0f, b.description());
            // the same view: a no-op
            b.copy(new Copy(all, all));
            assertArrayEquals(want, Tensors.toFloats(all), 0f);
        }
    }

    @Test
    void emptyTensorsAreANoOp() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            b.copy(new Copy(b.allocate(DType.F32, 0, 8), b.allocate(DType.F32, 0, 8)));
            b.copy(new Copy(b.allocate(DType.BF16, 3, 0), b.allocate(DType.BF16, 3, 0)));
        }
    }
}
