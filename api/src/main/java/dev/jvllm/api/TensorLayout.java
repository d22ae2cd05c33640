package dev.jvllm.api;

import java.util.Arrays;

/**
 * Where a tensor's elements live in its storage: dtype, shape, element offset and row stride.
 *
 * <p>Element {@code (i0, ..., i[n-2], j)} is at storage element
 * {@code offset + row(i0..i[n-2]) * rowStride + j}, where {@code row(..)} is the row-major
 * index over the leading dimensions. The last dimension is always contiguous.
 *
 * @param dtype     element type
 * @param shape     dimensions, rank ≥ 1, each ≥ 0
 * @param offset    elements from the start of the storage to element 0
 * @param rowStride elements between consecutive rows; ≥ the last dimension
 */
public record TensorLayout(DType dtype, int[] shape, long offset, long rowStride) {

    public TensorLayout {
        if (dtype == null) {
            throw new IllegalArgumentException("dtype must not be null");
        }
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("shape must have rank >= 1, got " + Arrays.toString(shape));
        }
        shape = shape.clone();
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, got " + offset);
        }
        if (rowStride < shape[shape.length - 1]) {
            throw new IllegalArgumentException("row stride " + rowStride + " < last dimension "
                    + shape[shape.length - 1] + " in shape " + Arrays.toString(shape));
        }
    }

    /** A contiguous layout at offset 0. */
    public static TensorLayout contiguous(DType dtype, int... shape) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("shape must have rank >= 1");
        }
        return new TensorLayout(dtype, shape, 0, shape[shape.length - 1]);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int cols() {
        return shape[shape.length - 1];
    }

    public long rows() {
        long r = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            r *= shape[i];
        }
        return r;
    }

    public long numel() {
        return rows() * cols();
    }

    public boolean isContiguous() {
        return rowStride == cols() || rows() <= 1;
    }

    /** One past the last storage element this layout touches (0 for an empty tensor). */
    public long endElement() {
        long rows = rows();
        if (rows == 0 || cols() == 0) {
            return offset;
        }
        return offset + (rows - 1) * rowStride + cols();
    }

    /** Byte offset of element 0 in the storage. */
    public long byteOffset() {
        return offset * dtype.byteSize();
    }

    /** Byte offset of the start of row {@code r}. */
    public long rowByteOffset(long r) {
        return (offset + r * rowStride) * dtype.byteSize();
    }

    public TensorLayout narrowLast(int start, int length) {
        int c = cols();
        if (start < 0 || length < 0 || start + length > c) {
            throw new IllegalArgumentException("narrowLast(" + start + ", " + length + ") outside last dimension "
                    + c + " of " + this);
        }
        int[] s = shape.clone();
        s[s.length - 1] = length;
        // rank 1: the only row keeps its stride
        return new TensorLayout(dtype, s, offset + start, Math.max(rowStride, length));
    }

    public TensorLayout slice(int start, int count) {
        if (shape.length == 1) {
            return narrowLast(start, count);
        }
        if (start < 0 || count < 0 || start + count > shape[0]) {
            throw new IllegalArgumentException("slice(" + start + ", " + count + ") outside first dimension "
                    + shape[0] + " of " + this);
        }
        long rowsPerIndex = rows() / Math.max(1, shape[0]);
        if (shape[0] == 0) {
            rowsPerIndex = 0;
        }
        int[] s = shape.clone();
        s[0] = count;
        return new TensorLayout(dtype, s, offset + start * rowsPerIndex * rowStride, rowStride);
    }

    public TensorLayout reshape(int... newShape) {
        long n = 1;
        for (int d : newShape) {
            n *= d;
        }
        if (n != numel()) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newShape)
                    + ": element counts differ");
        }
        if (isContiguous()) {
            return new TensorLayout(dtype, newShape, offset, newShape[newShape.length - 1]);
        }
        if (newShape[newShape.length - 1] == cols()) {
            return new TensorLayout(dtype, newShape, offset, rowStride);
        }
        throw new IllegalArgumentException("cannot reshape strided " + this + " to " + Arrays.toString(newShape)
                + ": only the leading dimensions of a strided view can be regrouped; copy it first");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorLayout l && l.dtype == dtype && Arrays.equals(l.shape, shape)
                && l.offset == offset && l.rowStride == rowStride;
    }

    @Override
    public int hashCode() {
        return (dtype.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Long.hashCode(offset * 131 + rowStride);
    }

    @Override
    public String toString() {
        String s = dtype + Arrays.toString(shape);
        if (!isContiguous()) {
            s += " (row stride " + rowStride + ")";
        }
        if (offset != 0) {
            s += " @" + offset;
        }
        return s;
    }
}
