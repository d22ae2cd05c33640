package dev.jvllm.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Host-side helpers: build tensors from Java arrays and read them back, converting float formats. */
public final class Tensors {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private Tensors() {
    }

    /** A new tensor of {@code dtype} holding {@code values} (rounded as {@link Numerics} does for narrow types). */
    public static Tensor fromFloats(Backend b, DType dtype, float[] values, int... shape) {
        Tensor t = b.allocate(dtype, shape);
        checkCount(t, values.length);
        try (Arena arena = Arena.ofConfined()) {
            b.write(t, encodeFloats(arena, dtype, values));
        }
        return t;
    }

    /** A new I32 tensor. */
    public static Tensor fromInts(Backend b, int[] values, int... shape) {
        Tensor t = b.allocate(DType.I32, shape);
        checkCount(t, values.length);
        try (Arena arena = Arena.ofConfined()) {
            b.write(t, arena.allocateFrom(ValueLayout.JAVA_INT, values));
        }
        return t;
    }

    /** A new I64 tensor. */
    public static Tensor fromLongs(Backend b, long[] values, int... shape) {
        Tensor t = b.allocate(DType.I64, shape);
        checkCount(t, values.length);
        try (Arena arena = Arena.ofConfined()) {
            b.write(t, arena.allocateFrom(ValueLayout.JAVA_LONG, values));
        }
        return t;
    }

    /** A new tensor of raw bytes (I8, U8, F8_E4M3). */
    public static Tensor fromBytes(Backend b, DType dtype, byte[] values, int... shape) {
        Tensor t = b.allocate(dtype, shape);
        checkCount(t, (long) values.length / dtype.byteSize());
        try (Arena arena = Arena.ofConfined()) {
            b.write(t, arena.allocateFrom(ValueLayout.JAVA_BYTE, values));
        }
        return t;
    }

    /** Writes float values into an existing tensor, converting to its dtype. */
    public static void writeFloats(Tensor t, float[] values) {
        checkCount(t, values.length);
        try (Arena arena = Arena.ofConfined()) {
            t.backend().write(t, encodeFloats(arena, t.dtype(), values));
        }
    }

    /** Writes int values into an existing I32 tensor. */
    public static void writeInts(Tensor t, int[] values) {
        checkCount(t, values.length);
        if (t.dtype() != DType.I32) {
            throw new IllegalArgumentException("writeInts needs an I32 tensor, got " + t.describe());
        }
        try (Arena arena = Arena.ofConfined()) {
            t.backend().write(t, arena.allocateFrom(ValueLayout.JAVA_INT, values));
        }
    }

    /** The elements of a float tensor (F32/F16/BF16/F8_E4M3) as f32, row-major. */
    public static float[] toFloats(Tensor t) {
        int n = Math.toIntExact(t.numel());
        float[] out = new float[n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(1, t.numel() * t.dtype().byteSize()));
            t.backend().read(t, seg);
            for (int i = 0; i < n; i++) {
                out[i] = switch (t.dtype()) {
                    case F32 -> seg.getAtIndex(F32, i);
                    case BF16 -> Numerics.bf16ToF32(seg.getAtIndex(I16, i));
                    case F16 -> Numerics.f16ToF32(seg.getAtIndex(I16, i));
                    case F8_E4M3 -> Numerics.e4m3ToF32(seg.get(ValueLayout.JAVA_BYTE, i));
                    case I32 -> seg.getAtIndex(I32, i);
                    case I8 -> seg.get(ValueLayout.JAVA_BYTE, i);
                    case U8 -> seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
                    case I64 -> seg.getAtIndex(I64, i);
                };
            }
        }
        return out;
    }

    /** The elements of an I32 tensor. */
    public static int[] toInts(Tensor t) {
        if (t.dtype() != DType.I32) {
            throw new IllegalArgumentException("toInts needs an I32 tensor, got " + t.describe());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(4, t.numel() * 4));
            t.backend().read(t, seg);
            return seg.asSlice(0, t.numel() * 4).toArray(ValueLayout.JAVA_INT);
        }
    }

    /** The raw bytes of a tensor, row-major, little-endian: the basis of bit-exact comparisons. */
    public static byte[] toBytes(Tensor t) {
        long n = t.numel() * t.dtype().byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(1, n));
            t.backend().read(t, seg);
            return seg.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Encodes f32 values in {@code dtype}'s binary form, in a segment of {@code arena}. */
    public static MemorySegment encodeFloats(Arena arena, DType dtype, float[] values) {
        MemorySegment seg = arena.allocate(Math.max(1, (long) values.length * dtype.byteSize()));
        for (int i = 0; i < values.length; i++) {
            switch (dtype) {
                case F32 -> seg.setAtIndex(F32, i, values[i]);
                case BF16 -> seg.setAtIndex(I16, i, Numerics.f32ToBf16(values[i]));
                case F16 -> seg.setAtIndex(I16, i, Numerics.f32ToF16(values[i]));
                case F8_E4M3 -> seg.set(ValueLayout.JAVA_BYTE, i, Numerics.f32ToE4M3(values[i]));
                case I32 -> seg.setAtIndex(I32, i, (int) values[i]);
                case I64 -> seg.setAtIndex(I64, i, (long) values[i]);
                case I8, U8 -> seg.set(ValueLayout.JAVA_BYTE, i, (byte) (int) values[i]);
            }
        }
        return seg;
    }

    private static void checkCount(Tensor t, long n) {
        if (t.numel() != n) {
            throw new IllegalArgumentException("tensor " + t.describe() + " has " + t.numel() + " elements, got "
                    + n + " values");
        }
    }
}
