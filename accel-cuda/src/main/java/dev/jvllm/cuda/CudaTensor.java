package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;

/**
 * A tensor in device memory: a block of the caching allocator plus a {@link TensorLayout}. Views
 * share the block; closing the owning tensor returns the block to the pool, after which its views
 * fail on use instead of reading reused memory.
 */
final class CudaTensor implements Tensor {
    private final CudaBackend backend;
    private final DeviceAllocator.Block block;
    private final TensorLayout layout;
    private final boolean owner;

    CudaTensor(CudaBackend backend, DeviceAllocator.Block block, TensorLayout layout, boolean owner) {
        long need = layout.numel() == 0 ? 0 : layout.endElement() * layout.dtype().byteSize();
        if (need > block.size) {
            throw new IllegalArgumentException("layout " + layout + " needs " + need + " bytes, the storage has "
                    + block.size);
        }
        this.backend = backend;
        this.block = block;
        this.layout = layout;
        this.owner = owner;
    }

    /** The tensor as a CUDA tensor of {@code backend}; fails with a clear message for any other. */
    static CudaTensor of(Tensor t, CudaBackend backend) {
        if (t instanceof CudaTensor c && c.backend == backend) {
            return c;
        }
        throw new IllegalArgumentException("tensor " + t.describe() + " belongs to backend " + t.backend().name()
                + (t instanceof CudaTensor ? " (another cuda backend instance)" : "")
                + ", not this cuda backend; copy it over with write()/read() first");
    }

    /** Device address of element 0. */
    long address() {
        if (!block.live()) {
            throw new IllegalStateException("tensor " + describe() + " was closed (or is a view of a closed tensor)");
        }
        return block.pointer + layout.byteOffset();
    }

    /** Whether the byte ranges of two tensors' elements may overlap (same block, intersecting extents). */
    boolean overlaps(CudaTensor o) {
        if (block != o.block || numel() == 0 || o.numel() == 0) {
            return false;
        }
        long es = dtype().byteSize(), oes = o.dtype().byteSize();
        long a0 = layout.byteOffset(), a1 = layout.endElement() * es;
        long b0 = o.layout.byteOffset(), b1 = o.layout.endElement() * oes;
        return a0 < b1 && b0 < a1;
    }

    /**
     * Whether no element of this tensor is an element of {@code o}: {@link #overlaps} is false, or both
     * are 2-D views of one dtype and row stride whose column ranges within a row do not meet (q, k
     * and v of one fused projection at any T).
     */
    boolean disjoint(CudaTensor o) {
        if (!overlaps(o)) {
            return true;
        }
        long s = layout.rowStride();
        if (layout.rank() != 2 || o.layout.rank() != 2 || dtype() != o.dtype() || s <= 0 || s != o.layout.rowStride()) {
            return false;
        }
        long a = layout.offset() % s, b = o.layout.offset() % s;
        long ae = a + layout.cols(), be = b + o.layout.cols();
        return ae <= s && be <= s && (ae <= b || be <= a);
    }

    /** Same storage and same layout: the identical view. */
    boolean sameView(CudaTensor o) {
        return block == o.block && layout.equals(o.layout);
    }

    @Override
    public TensorLayout layout() {
        return layout;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public Tensor view(TensorLayout l) {
        return new CudaTensor(backend, block, l, false);
    }

    @Override
    public void close() {
        if (owner) {
            backend.free(block);
        }
    }

    @Override
    public String toString() {
        return "CudaTensor " + layout;
    }
}
