package dev.jvllm.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class NumericsTest {

    @Test
    void bf16RoundsToNearestEvenAndKeepsNaN() {
        assertEquals((short) 0x3F80, Numerics.f32ToBf16(1.0f));
        // halfway between 0x3F80 and 0x3F81: ties to even (down)
        assertEquals((short) 0x3F80, Numerics.f32ToBf16(Float.intBitsToFloat(0x3F808000)));
        // halfway between 0x3F81 and 0x3F82: ties to even (up)
        assertEquals((short) 0x3F82, Numerics.f32ToBf16(Float.intBitsToFloat(0x3F818000)));
        assertEquals((short) 0x3F81, Numerics.f32ToBf16(Float.intBitsToFloat(0x3F808001)));
        assertTrue(Float.isNaN(Numerics.bf16ToF32(Numerics.f32ToBf16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, Numerics.bf16ToF32(Numerics.f32ToBf16(Float.MAX_VALUE)));
        for (int bits = 0; bits < 0x10000; bits++) { // every bf16 value survives the round trip
            float f = Numerics.bf16ToF32((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals((short) bits, Numerics.f32ToBf16(f), "bf16 0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void e4m3DecodesEveryCodeAndEncodesItBack() {
        int nans = 0;
        for (int code = 0; code < 256; code++) {
            float f = Numerics.e4m3ToF32((byte) code);
            if (Float.isNaN(f)) {
                nans++;
                continue;
            }
            // signed zeros included: 0x80 is −0 and comes back as 0x80
            assertEquals((byte) code, Numerics.f32ToE4M3(f), "code 0x" + Integer.toHexString(code) + " = " + f);
        }
        assertEquals(2, nans, "S.1111.111 is the only NaN");
        assertEquals(448f, Numerics.e4m3ToF32((byte) 0x7E));
        assertEquals(0x1.0p-9f, Numerics.e4m3ToF32((byte) 0x01), "smallest subnormal");
    }

    @Test
    void e4m3SaturatesAndRoundsToNearestEven() {
        assertEquals(448f, Numerics.e4m3ToF32(Numerics.f32ToE4M3(1e6f)));
        assertEquals(-448f, Numerics.e4m3ToF32(Numerics.f32ToE4M3(-500f)));
        // between 1.0 (m=0) and 1.125 (m=1): 1.0625 is a tie, goes to even (1.0)
        assertEquals(1.0f, Numerics.e4m3ToF32(Numerics.f32ToE4M3(1.0625f)));
        // between 1.125 (m=1) and 1.25 (m=2): 1.1875 ties to even (1.25)
        assertEquals(1.25f, Numerics.e4m3ToF32(Numerics.f32ToE4M3(1.1875f)));
        assertTrue(Float.isNaN(Numerics.e4m3ToF32(Numerics.f32ToE4M3(Float.NaN))));
    }

    @Test
    void roundToIsIdempotent() {
        for (DType d : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F8_E4M3}) {
            float r = Numerics.roundTo(d, 0.3333333f);
            assertEquals(r, Numerics.roundTo(d, r), d.name());
        }
    }
}
