package dev.jvllm.cpu;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import java.lang.foreign.MemorySegment;

/**
 * A tensor in host memory: a {@link MemorySegment} (heap-off native memory, or a memory-mapped
 * file region used in place) plus a {@link TensorLayout}.
 */
public final class CpuTensor implements Tensor {
    private final CpuBackend backend;
    private final MemorySegment storage;
    private final TensorLayout layout;
    private final Lifetime life;  // shared with views; null for wrapped host memory
    private final boolean owner;  // whether close() ends the lifetime (views and wraps: no)

    /**
     * The lifetime of allocated memory: ended once by its tensor's close(), which hands the memory
     * back; its views share it, so a view of a closed tensor fails too. (A flag, not an arena per
     * tensor: closing a shared arena costs a thread handshake, 40–140 µs measured, which decode paid for
     * every activation of every step.)
     */
    static final class Lifetime {
        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
        private final Runnable release;

        Lifetime(Runnable release) {
            this.release = release;
        }

        boolean isAlive() {
            return !closed.get();
        }

        void end() {
            if (closed.compareAndSet(false, true)) {
                release.run();
            }
        }
    }

    /** A tensor that owns {@code life} (null: wrapped memory that the caller keeps alive). */
    CpuTensor(CpuBackend backend, MemorySegment storage, TensorLayout layout, Lifetime life) {
        this(backend, storage, layout, life, life != null);
    }

    private CpuTensor(CpuBackend backend, MemorySegment storage, TensorLayout layout, Lifetime life, boolean owner) {
        long need = layout.numel() == 0 ? 0 : layout.endElement() * layout.dtype().byteSize();
        if (need > storage.byteSize()) {
            throw new IllegalArgumentException("layout " + layout + " needs " + need + " bytes, storage has "
                    + storage.byteSize());
        }
        this.backend = backend;
        this.storage = storage;
        this.layout = layout;
        this.life = life;
        this.owner = owner;
    }

    /**
     * The whole storage this tensor (or view) lives in; element 0 is at {@code layout().byteOffset()}.
     *
     * @throws IllegalStateException once the tensor (or the tensor this is a view of) was closed
     */
    public MemorySegment storage() {
        if (life != null && !life.isAlive()) {
            throw new IllegalStateException("tensor " + layout + " was used after close()");
        }
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
        return new CpuTensor(backend, storage, l, life, false);
    }

    @Override
    public void close() {
        if (owner) {
            life.end();
        }
    }

    @Override
    public String toString() {
        return "CpuTensor " + layout;
    }
}
