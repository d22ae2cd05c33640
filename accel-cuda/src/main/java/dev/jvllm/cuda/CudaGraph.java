package dev.jvllm.cuda;

import dev.jvllm.api.OpGraph;
import dev.jvllm.api.PendingRead;
import java.lang.foreign.MemorySegment;

/**
 * An instantiated CUDA graph ({@code CUgraphExec}) of one {@link CudaBackend#capture}: a replay is
 * one {@code cuGraphLaunch} on the backend's stream. Holds the allocator's graph pool while it lives
 * (see {@link DeviceAllocator}). A staged graph also holds its {@code CUgraph} (whose node handles
 * its replays update) and its {@link StagedIo}.
 */
final class CudaGraph implements OpGraph {
    private final CudaBackend backend;
    private final MemorySegment exec;
    private final MemorySegment graph;
    private final StagedIo io;
    private boolean closed;

    /** {@code graph} and {@code io}: null for a graph captured without staging. */
    CudaGraph(CudaBackend backend, MemorySegment exec, MemorySegment graph, StagedIo io) {
        this.backend = backend;
        this.exec = exec;
        this.graph = graph;
        this.io = io;
    }

    @Override
    public void replay() {
        open();
        backend.launch(exec, io);
    }

    @Override
    public PendingRead replay(MemorySegment bytes, int firstRow) {
        open();
        if (io == null) {
            return OpGraph.super.replay(bytes, firstRow);
        }
        return backend.launchStaged(exec, io, bytes, firstRow);
    }

    private void open() {
        if (closed) {
            throw new IllegalStateException("replay of a closed graph");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            backend.release(this, exec, graph, io);
        }
    }
}
