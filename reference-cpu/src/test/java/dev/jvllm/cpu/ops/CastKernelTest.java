package dev.jvllm.cpu.ops;

import static dev.jvllm.cpu.ops.CoreOpsTesting.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Cast;
import org.junit.jupiter.api.Test;

class CastKernelTest {
    private static final DType[] DSTS = {DType.F32, DType.BF16, DType.F16, DType.F8_E4M3};

    /** Values that exercise rounding, overflow, saturation, subnormals and NaN. */
    private static final float[] EDGE = {0f, -0f, 1f, -1f, 1.00390625f /* bf16 tie */, 1.01171875f, 0.1f, 65504f,
            65520f /* f16 overflow */, 1e6f, -1e6f, 448f, 464f, 500f, -1000f, 1e-8f, 6e-8f, 2e-3f, 1e-40f, Float.NaN,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 3.14159265f, -2.71828f, 0.015625f, 0.0009765625f};

    private static short bits16(Tensor t, int i) {
        byte[] b = Tensors.toBytes(t);
        return (short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8));
    }

    @Test
    void scalarFormRoundsAsNumericsDoes() {
        Tensor src = Tensors.fromFloats(SCALAR, DType.F32, EDGE, EDGE.length);
        for (DType dt : DSTS) {
            Tensor dst = SCALAR.allocate(dt, EDGE.length);
            SCALAR.cast(new Cast(src, dst));
            byte[] got = Tensors.toBytes(dst);
            for (int i = 0; i < EDGE.length; i++) {
                float v = EDGE[i];
                switch (dt) {
                    case F32 -> assertEquals(Float.floatToRawIntBits(v), Float.floatToRawIntBits(Tensors.toFloats(dst)[i]));
                    case BF16 -> assertEquals(Numerics.f32ToBf16(v), bits16(dst, i), "bf16 of " + v);
                    case F16 -> assertEquals(Numerics.f32ToF16(v), bits16(dst, i), "f16 of " + v);
                    case F8_E4M3 -> assertEquals(Numerics.f32ToE4M3(v), got[i], "e4m3 of " + v);
                    default -> throw new AssertionError();
                }
            }
        }
        // hand-checked: saturation, overflow, a bf16 tie rounding to even
        Tensor f8 = SCALAR.allocate(DType.F8_E4M3, EDGE.length);
        SCALAR.cast(new Cast(src, f8));
        assertEquals(448f, Tensors.toFloats(f8)[13]);  // 500 saturates
        assertEquals(-448f, Tensors.toFloats(f8)[14]); // -1000 saturates
        Tensor f16 = SCALAR.allocate(DType.F16, EDGE.length);
        SCALAR.cast(new Cast(src, f16));
        assertEquals(Float.POSITIVE_INFINITY, Tensors.toFloats(f16)[8]);
        Tensor bf = SCALAR.allocate(DType.BF16, EDGE.length);
        SCALAR.cast(new Cast(src, bf));
        assertEquals(1f, Tensors.toFloats(bf)[4]);
        assertTrue(Float.isNaN(Tensors.toFloats(bf)[19]));
    }

    @Test
    void simdMatchesScalarBitForBitForEveryPairAndStride() {
        int rows = 7, cols = 2 * Tiles.TILE_COLS + 37; // several tiles, a ragged tail
        float[] vals = random(3, rows * cols, -600, 600);
        System.arraycopy(EDGE, 0, vals, 5, EDGE.length);
        for (DType st : FLOATS) {
            for (DType dt : DSTS) {
                Tensor[] outs = new Tensor[2];
                Backend[] bs = {SCALAR, SIMD};
                for (int k = 0; k < 2; k++) {
                    Tensor src = strided(bs[k], st, vals, rows, cols, 1, 2, 0f);
                    outs[k] = bs[k].allocate(dt, rows, cols + 3).narrowLast(3, cols);
                    bs[k].cast(new Cast(src, outs[k]));
                }
                assertSameBits(outs[0], outs[1], st + " -> " + dt);
            }
        }
    }

    @Test
    void widenIsExactAndSameDtypeKeepsNanPayloads() {
        for (Backend b : new Backend[] {SCALAR, SIMD}) {
            short[] payloads = {(short) 0x7F81, (short) 0xFFC1, 0x3F80, (short) 0x8001};
            byte[] raw = new byte[payloads.length * 2];
            for (int i = 0; i < payloads.length; i++) {
                raw[2 * i] = (byte) payloads[i];
                raw[2 * i + 1] = (byte) (payloads[i] >> 8);
            }
            Tensor src = Tensors.fromBytes(b, DType.BF16, raw, payloads.length);
            Tensor same = b.allocate(DType.BF16, payloads.length);
            b.cast(new Cast(src, same));
            assertSameBits(src, same, "bf16 -> bf16");
            Tensor wide = b.allocate(DType.F32, payloads.length);
            b.cast(new Cast(src, wide));
            float[] w = Tensors.toFloats(wide);
            for (int i = 0; i < payloads.length; i++) {
                assertEquals((payloads[i] & 0xFFFF) << 16, Float.floatToRawIntBits(w[i]), "widen " + i);
            }
        }
    }

    @Test
    void supportsFloatSourcesAndF8Destinations() {
        Tensor f32 = SIMD.allocate(DType.F32, 2, 2);
        assertTrue(SIMD.supports(new Cast(f32, SIMD.allocate(DType.F8_E4M3, 2, 2))));
        assertFalse(SIMD.supports(new Cast(SIMD.allocate(DType.F8_E4M3, 2, 2), f32)));
        assertFalse(SIMD.supports(new Cast(SIMD.allocate(DType.I32, 2, 2), f32)));
        assertFalse(SIMD.supports(new Cast(f32, SIMD.allocate(DType.I8, 2, 2))));
    }
}
