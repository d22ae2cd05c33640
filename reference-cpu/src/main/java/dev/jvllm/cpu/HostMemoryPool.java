package dev.jvllm.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU backend's caching allocator: blocks of freed tensors are kept, up to a cap, and handed out
 * again (zeroed) instead of going back to the OS. A forward pass allocates and frees the same
 * activation sizes every step; fresh native memory costs a page fault per 4 KiB page plus the
 * kernel's own zeroing, which for a 128-token prefill of a 1B model was a quarter of its time.
 *
 * <p>Blocks come in size classes (powers of two up to 4 KiB, then quarter steps between powers
 * of two: at most 25% unused), so different batch sizes share them. Each block owns a shared arena,
 * closed when the block is dropped (over the cap, or when the pool closes). Thread-safe.
 */
final class HostMemoryPool implements AutoCloseable {
    /** A block: its memory (class-sized, 64-byte aligned) and the arena that frees it. */
    record Block(MemorySegment segment, Arena arena) {
    }

    private final long capBytes;
    private final Map<Long, ArrayDeque<Block>> free = new HashMap<>();
    private long pooledBytes;
    private boolean closed;

    /** @param capBytes the most bytes kept in free blocks */
    HostMemoryPool(long capBytes) {
        this.capBytes = capBytes;
    }

    /** The block size serving a request of {@code bytes} (≥ 1). */
    static long sizeClass(long bytes) {
        if (bytes <= 4096) {
            return Math.max(64, Long.highestOneBit(bytes - 1) << 1);
        }
        long step = Long.highestOneBit(bytes) / 4;
        return (bytes + step - 1) / step * step;
    }

    /** A block of at least {@code bytes} whose first {@code bytes} bytes are zero. */
    Block take(long bytes) {
        long size = sizeClass(bytes);
        Block b = null;
        synchronized (this) {
            ArrayDeque<Block> q = free.get(size);
            if (q != null && !q.isEmpty()) {
                b = q.pop();
                pooledBytes -= size;
            }
        }
        if (b != null) {
            b.segment().asSlice(0, bytes).fill((byte) 0);
            return b;
        }
        Arena arena = Arena.ofShared();
        // large blocks (KV caches, weights converted at load): zero pages mapped lazily by the OS
        MemorySegment seg = size >= AnonymousMemory.THRESHOLD ? AnonymousMemory.allocate(size, arena) : null;
        return new Block(seg != null ? seg : arena.allocate(size, 64), arena); // both come zeroed
    }

    /** Returns a block taken earlier: kept for reuse, or freed when over the cap or closed. */
    void give(Block b) {
        long size = b.segment().byteSize();
        synchronized (this) {
            if (!closed && pooledBytes + size <= capBytes) {
                free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(b);
                pooledBytes += size;
                return;
            }
        }
        b.arena().close();
    }

    /** Bytes held in free blocks. */
    synchronized long pooledBytes() {
        return pooledBytes;
    }

    /** Frees every free block; blocks still in use are freed when they come back. */
    @Override
    public synchronized void close() {
        closed = true;
        for (ArrayDeque<Block> q : free.values()) {
            for (Block b : q) {
                b.arena().close();
            }
        }
        free.clear();
        pooledBytes = 0;
    }
}
