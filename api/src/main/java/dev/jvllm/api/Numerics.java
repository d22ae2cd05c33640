package dev.jvllm.api;

/**
 * Scalar conversions between f32 and the narrow float formats, with the rounding every backend
 * must reproduce: round to nearest, ties to even; NaN stays NaN.
 */
public final class Numerics {
    private Numerics() {
    }

    /** bf16 bits → f32 (exact). */
    public static float bf16ToF32(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** f32 → bf16 bits, round to nearest even; NaN → quiet NaN with the sign kept. */
    public static short f32ToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((x >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((x >>> 16) & 1);
        return (short) ((x + rounding) >>> 16);
    }

    /** f16 bits → f32 (exact). */
    public static float f16ToF32(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** f32 → f16 bits, round to nearest even; overflow → ±Inf. */
    public static short f32ToF16(float f) {
        return Float.floatToFloat16(f);
    }

    /** Largest finite fp8 e4m3fn value. */
    public static final float E4M3_MAX = 448f;

    /** fp8 e4m3fn bits → f32 (exact). S.1111.111 is NaN; there are no infinities. */
    public static float e4m3ToF32(byte bits) {
        int b = bits & 0xFF;
        int sign = (b >>> 7) & 1;
        int exp = (b >>> 3) & 0xF;
        int man = b & 0x7;
        float v;
        if (exp == 0xF && man == 0x7) {
            v = Float.NaN;
        } else if (exp == 0) {
            v = man * 0x1.0p-9f; // subnormal: man/8 · 2^-6
        } else {
            v = (1 + man / 8f) * (float) Math.scalb(1.0, exp - 7);
        }
        return sign == 1 ? -v : v;
    }

    /** f32 → fp8 e4m3fn bits, round to nearest even, saturating to ±448; NaN → 0x7F. */
    public static byte f32ToE4M3(float f) {
        if (Float.isNaN(f)) {
            return 0x7F;
        }
        int sign = f < 0 || (f == 0 && 1 / f < 0) ? 0x80 : 0;
        float a = Math.abs(f);
        if (a >= E4M3_MAX) {
            return (byte) (sign | 0x7E);
        }
        // quantum: 2^(e-3) for normals (e = unbiased exponent >= -6), 2^-9 for subnormals
        int e = a == 0 ? -7 : Math.getExponent(a);
        float quantum = e < -6 ? 0x1.0p-9f : Math.scalb(1f, e - 3);
        float q = (float) Math.rint(a / quantum) * quantum; // rint: ties to even on the mantissa
        if (q >= E4M3_MAX) {
            return (byte) (sign | 0x7E);
        }
        if (q == 0) {
            return (byte) sign;
        }
        int qe = Math.getExponent(q);
        if (qe < -6) {
            return (byte) (sign | Math.round(q / 0x1.0p-9f));
        }
        int man = Math.round((q / Math.scalb(1f, qe) - 1) * 8);
        return (byte) (sign | ((qe + 7) << 3) | man);
    }

    /** Rounds an f32 value through {@code dtype} and back (identity for F32). */
    public static float roundTo(DType dtype, float f) {
        return switch (dtype) {
            case F32 -> f;
            case BF16 -> bf16ToF32(f32ToBf16(f));
            case F16 -> f16ToF32(f32ToF16(f));
            case F8_E4M3 -> e4m3ToF32(f32ToE4M3(f));
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }
}
