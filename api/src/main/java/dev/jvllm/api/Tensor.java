package dev.jvllm.api;

import java.util.Arrays;

/**
 * An n-dimensional array owned by one {@link Backend}.
 *
 * <p>Layout: row-major with a contiguous last dimension. A "row" is one index over all
 * dimensions but the last; row {@code r} starts {@code offset() + r * rowStride()} elements
 * into the storage. A contiguous tensor has {@code rowStride() == cols()}. Views share storage
 * and cost nothing: {@link #narrowLast} splits a fused {@code [T, (Hq+2Hk)*D]} projection into
 * q, k and v without a copy, {@link #slice} takes a range of the first dimension.
 *
 * <p>Ops write into caller-provided output tensors (destination passing). Closing the tensor
 * returned by {@link Backend#allocate} frees its storage; closing a view does nothing.
 */
public interface Tensor extends AutoCloseable {

    /** The layout: dtype, shape, offset and row stride. */
    TensorLayout layout();

    /** The backend that owns the storage. */
    Backend backend();

    /** A tensor over the same storage with another layout (must stay inside the storage). */
    Tensor view(TensorLayout layout);

    /** Frees the storage of an owning tensor; no-op for views. Idempotent. */
    @Override
    void close();

    default DType dtype() {
        return layout().dtype();
    }

    /** A copy of the shape. */
    default int[] shape() {
        return layout().shape();
    }

    default int rank() {
        return layout().rank();
    }

    default int dim(int i) {
        return layout().dim(i);
    }

    default long numel() {
        return layout().numel();
    }

    /** Number of rows: the product of all dimensions but the last (1 for rank 1). */
    default long rows() {
        return layout().rows();
    }

    /** Size of the last dimension. */
    default int cols() {
        return layout().cols();
    }

    default boolean isContiguous() {
        return layout().isContiguous();
    }

    /** Columns {@code [start, start+length)} of the last dimension, as a view. */
    default Tensor narrowLast(int start, int length) {
        return view(layout().narrowLast(start, length));
    }

    /** Indices {@code [start, start+count)} of the first dimension, as a view. */
    default Tensor slice(int start, int count) {
        return view(layout().slice(start, count));
    }

    /**
     * The same elements with another shape, as a view. Allowed when the tensor is contiguous, or
     * when the last dimension is unchanged (rows are regrouped, the row stride kept).
     */
    default Tensor reshape(int... newShape) {
        return view(layout().reshape(newShape));
    }

    /** A short description for messages: {@code BF16[7, 128] (stride 384)}. */
    default String describe() {
        return layout().toString();
    }

    /** Formats a shape as {@code [a, b, c]}. */
    static String shapeString(int[] shape) {
        return Arrays.toString(shape);
    }
}
