package dev.jvllm.api;

/**
 * Element types a {@link Tensor} can hold.
 *
 * <p>Packed int4 weights are not a general dtype: they live in {@code dev.jvllm.api.ops.LinearWeight.Int4} as
 * {@link #I32} words. Names match the safetensors header's {@code dtype} strings.
 */
public enum DType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    /** OCP fp8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, NaN = S.1111.111. */
    F8_E4M3(1, "F8_E4M3"),
    I8(1, "I8"),
    U8(1, "U8"),
    I32(4, "I32"),
    I64(8, "I64");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The spelling used in safetensors headers ({@code "BF16"}, ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** True for the floating-point activation/weight types F32, F16 and BF16. */
    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16;
    }

    /**
     * Parses a safetensors dtype string.
     *
     * @throws IllegalArgumentException naming the string and the supported set
     */
    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported safetensors dtype \"" + name
                + "\"; jvllm reads F32, F16, BF16, F8_E4M3, I8, U8, I32, I64");
    }
}
