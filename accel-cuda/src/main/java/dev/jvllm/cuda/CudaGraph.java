package dev.jvllm.cuda;

import dev.jvllm.api.OpGraph;
import java.lang.foreign.MemorySegment;

/**
 * An instantiated CUDA graph ({@code CUgraphExec}) of one {@link CudaBackend#capture}: a replay is
 * one {@code cuGraphLaunch} on the backend's stream. Holds the allocator's graph pool while it lives
 * (see {@link DeviceAllocator}).
 */
final class CudaGraph implements OpGraph {
    private final CudaBackend backend;
    private final MemorySegment exec;
    private boolean closed;

    CudaGraph(CudaBackend backend, MemorySegment exec) {
        this.backend = backend;
        this.exec = exec;
    }

    @Override
    public void replay() {
        if (closed) {
            throw new IllegalStateException("replay of a closed graph");
        }
        backend.launch(exec);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            backend.release(this, exec);
        }
    }
}
