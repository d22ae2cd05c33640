package dev.jvllm.cpu;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A tensor in host memory: a {@link MemorySegment} (heap-off native memory, or a memory-mapped
 * file region used in place) plus a {@link TensorLayout}.
 */
public final class CpuTensor implements Tensor {
    private final CpuBackend backend;
    private final MemorySegment storage;
    private final TensorLayout layout;
    private final Arena owner; // null for views and wrapped host memory

    CpuTensor(CpuBackend backend, MemorySegment storage, TensorLayout layout, Arena owner) {
        long need = layout.numel() == 0 ? 0 : layout.endElement() * layout.dtype().byteSize();
        if (need > storage.byteSize()) {
            throw new IllegalArgumentException("layout " + layout + " needs " + need + " bytes, storage has "
                    + storage.byteSize());
        }
        this.backend = backend;
        this.storage = storage;
        this.layout = layout;
        this.owner = owner;
    }

    /** The whole storage this tensor (or view) lives in; element 0 is at {@code layout().byteOffset()}. */
    public MemorySegment storage() {
        return storage;
    }

    /** The storage of a CPU tensor; fails with a clear message for another backend's tensor. */
    public static CpuTensor of(Tensor t) {
        if (t instanceof CpuTensor c) {
            return c;
        }
        throw new IllegalArgumentException("tensor " + t.describe() + " belongs to backend "
                + t.backend().name() + ", not cpu; download it first");
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
        return new CpuTensor(backend, storage, l, null);
    }

    @Override
    public void close() {
        if (owner != null && owner.scope().isAlive()) {
            owner.close();
        }
    }

    @Override
    public String toString() {
        return "CpuTensor " + layout;
    }
}
