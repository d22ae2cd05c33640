package dev.jvllm.api;

import java.lang.foreign.MemorySegment;

/**
 * A read that {@link Backend#readLater} started: the tensor's bytes as they were when every op
 * enqueued before it had run, delivered by {@link #await}. Ops enqueued after {@code readLater} do
 * not delay it (an engine launches its next step before it waits for this one's tokens).
 */
public interface PendingRead extends AutoCloseable {
    /**
     * Waits for the bytes and copies them into {@code dst} (contiguous, little-endian, as
     * {@link Backend#read} writes them); raises what {@code read} would have raised. Once only.
     */
    void await(MemorySegment dst);

    /** Gives back what the read holds if it will not be awaited (a no-op after {@link #await}). */
    @Override
    void close();

    /**
     * A read whose bytes are already on the host (in {@code bytes}, which it copies from), with the
     * contract of every other read: a second await, or an await after close, fails.
     */
    static PendingRead done(MemorySegment bytes) {
        return new PendingRead() {
            private boolean open = true;

            @Override
            public void await(MemorySegment dst) {
                if (!open) {
                    throw new IllegalStateException("this read was already awaited or closed");
                }
                open = false;
                MemorySegment.copy(bytes, 0, dst, 0, bytes.byteSize());
            }

            @Override
            public void close() {
                open = false;
            }
        };
    }
}
