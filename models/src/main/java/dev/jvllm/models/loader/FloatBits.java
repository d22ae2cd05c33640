package dev.jvllm.models.loader;

/**
 * Bit-level conversions between f32 and the narrow float formats safetensors stores.
 * Exact where the narrow format can represent the value; f32 → narrow rounds to nearest even.
 */
final class FloatBits {
    private FloatBits() {
    }

    /** bf16 is the top half of an f32: widening is a shift, exact. */
    static float bf16ToF32(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round to nearest even; NaN stays a (quiet) NaN with its sign, never rounds to Inf. */
    static short f32ToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** OCP fp8 e4m3fn: bias 7, no infinities, S.1111.111 is NaN; subnormals for exponent 0. */
    private static final float[] E4M3 = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            int sign = (b >> 7) & 1;
            int exp = (b >> 3) & 0xF;
            int man = b & 0x7;
            float v;
            if (exp == 0xF && man == 0x7) {
                v = Float.NaN;
            } else if (exp == 0) {
                v = man / 8.0f * (float) Math.pow(2, -6);
            } else {
                v = (1 + man / 8.0f) * (float) Math.pow(2, exp - 7);
            }
            E4M3[b] = sign == 1 ? -v : v;
        }
    }

    static float e4m3ToF32(byte bits) {
        return E4M3[bits & 0xFF];
    }
}
