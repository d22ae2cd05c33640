package dev.jvllm.models.loader;

import dev.jvllm.api.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file: its name, dtype, shape and bytes.
 *
 * <p>{@code data} is a zero-copy slice of the file's read-only mapping: row-major,
 * little-endian, {@code numel() * dtype.byteSize()} bytes. It lives as long as the
 * {@link SafetensorsFile} or {@link Checkpoint} that produced it; reading it after
 * {@code close()} throws {@link IllegalStateException}. The slice is not guaranteed to be
 * aligned to the element size (files written by the reference writer are, others need not
 * be), so read it with unaligned layouts such as {@link ValueLayout#JAVA_FLOAT_UNALIGNED}.
 *
 * <p>Equality is a record's default: {@code shape} compares by array identity, so compare
 * tensors by name rather than with {@code equals}.
 *
 * @param name  the checkpoint name, e.g. {@code model.layers.3.mlp.up_proj.weight}
 * @param dtype element type
 * @param shape dims, outermost first; {@code []} is a scalar. Copied in and out.
 * @param data  the tensor's bytes
 * @param file  the file the tensor lives in, for error messages
 */
public record CheckpointTensor(String name, DType dtype, long[] shape, MemorySegment data, Path file) {

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public CheckpointTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dims; 0 for a scalar. */
    public int rank() {
        return shape.length;
    }

    /** Size of dim {@code i}; negative {@code i} counts from the end ({@code dim(-1)} = last). */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    /** Product of the dims (1 for a scalar). Validated at open time not to overflow. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * The shape as {@code int[]}, for code that indexes with ints.
     *
     * @throws SafetensorsException if a dim exceeds {@link Integer#MAX_VALUE}
     */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new SafetensorsException(file + ": tensor " + name + " has shape " + shapeString()
                        + "; dim " + i + " does not fit in an int");
            }
            s[i] = (int) shape[i];
        }
        return s;
    }

    /** {@code [4096, 11008]}, for messages. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** The values of an I32 tensor (token ids, indices), copied into an array. */
    public int[] toIntArray() {
        if (dtype != DType.I32) {
            throw new SafetensorsException(file + ": tensor " + name + " is " + dtype.safetensorsName()
                    + ", not I32; read it with toFloatArray() or through data()");
        }
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(file + ": tensor " + name + " " + shapeString()
                    + " has " + n + " elements, too many for an int[]; read it through data() instead");
        }
        int[] out = new int[(int) n];
        MemorySegment.copy(data, I32_LE, 0, out, 0, out.length);
        return out;
    }

    /**
     * Copies the tensor into a new f32 array, widening exactly from F16 (via
     * {@link Float#float16ToFloat}), BF16 ({@code bits << 16}) and F8_E4M3.
     *
     * @throws SafetensorsException for integer dtypes, or when numel exceeds what a Java array holds
     */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(file + ": tensor " + name + " " + shapeString()
                    + " has " + n + " elements, too many for a float[]; read it through data() instead");
        }
        float[] out = new float[(int) n];
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32_LE, 0, out, 0, out.length);
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = FloatBits.bf16ToF32(data.get(I16_LE, 2L * i));
                }
            }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.float16ToFloat(data.get(I16_LE, 2L * i));
                }
            }
            case F8_E4M3 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = FloatBits.e4m3ToF32(data.get(ValueLayout.JAVA_BYTE, i));
                }
            }
            default -> throw new SafetensorsException(file + ": tensor " + name + " has dtype " + dtype
                    + ", which is not a float type; toFloatArray() reads F32, F16, BF16 and F8_E4M3");
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString() + " (" + file.getFileName() + ")";
    }
}
