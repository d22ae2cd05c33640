package dev.jvllm.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class TensorLayoutTest {

    @Test
    void narrowLastSplitsAFusedProjectionWithoutCopying() {
        // qkv: [T=5, (4 + 2 + 2) heads * 16]
        TensorLayout qkv = TensorLayout.contiguous(DType.BF16, 5, 128);
        TensorLayout k = qkv.narrowLast(64, 32);
        assertArrayEquals(new int[] {5, 32}, k.shape());
        assertEquals(64, k.offset());
        assertEquals(128, k.rowStride());
        assertFalse(k.isContiguous());
        assertEquals(64 + 4 * 128 + 32, k.endElement());
        assertEquals((64 + 2 * 128) * 2, k.rowByteOffset(2));
    }

    @Test
    void sliceTakesWholeRowsOfTheFirstDimension() {
        TensorLayout cache = TensorLayout.contiguous(DType.F32, 10, 16, 2, 8); // [blocks, B, Hk, D]
        TensorLayout blocks = cache.slice(3, 2);
        assertArrayEquals(new int[] {2, 16, 2, 8}, blocks.shape());
        assertEquals(3L * 16 * 2 * 8, blocks.offset());
        assertTrue(blocks.isContiguous());
    }

    @Test
    void reshapeRegroupsRowsOfStridedViewsButRefusesToSplitTheirLastDimension() {
        TensorLayout q = TensorLayout.contiguous(DType.F32, 6, 96).narrowLast(0, 64);
        assertArrayEquals(new int[] {2, 3, 64}, q.reshape(2, 3, 64).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> q.reshape(6 * 4, 16));
        assertTrue(e.getMessage().contains("copy it first"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> q.reshape(5, 64));
        assertArrayEquals(new int[] {24, 16}, TensorLayout.contiguous(DType.F32, 6, 64).reshape(24, 16).shape());
    }

    @Test
    void outOfRangeViewsAndBadShapesAreClearErrors() {
        TensorLayout t = TensorLayout.contiguous(DType.F16, 4, 8);
        assertThrows(IllegalArgumentException.class, () -> t.narrowLast(6, 3));
        assertThrows(IllegalArgumentException.class, () -> t.slice(3, 2));
        assertThrows(IllegalArgumentException.class, () -> new TensorLayout(DType.F32, new int[] {2, -1}, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> new TensorLayout(DType.F32, new int[] {2, 8}, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> TensorLayout.contiguous(DType.F32));
    }

    @Test
    void emptyTensorsHaveNoExtent() {
        TensorLayout e = TensorLayout.contiguous(DType.F32, 0, 16);
        assertEquals(0, e.numel());
        assertEquals(e.offset(), e.endElement());
    }
}
