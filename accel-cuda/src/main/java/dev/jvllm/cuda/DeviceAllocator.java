package dev.jvllm.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A caching device allocator: blocks are rounded up to a size class and, when freed, kept in a
 * pool for that class instead of going back to the driver, so steady-state inference calls
 * {@code cuMemAlloc} never. All work runs on one stream, so a block freed while kernels that use
 * it are still queued can be handed out again at once: the next user's work is queued after them.
 *
 * <p>Size classes: powers of two from 512 B up to 1 MiB, then multiples of 2 MiB. When the device
 * is out of memory, the cached blocks are released to the driver and the allocation is retried once.
 * Thread-safe (tensors may be closed from any thread); driver calls are made only by
 * {@link #allocate} (on the backend's thread) and {@link #trim}/{@link #close}.
 *
 * <p>Graph capture ({@link CudaBackend#capture}): a captured graph replays with the device addresses
 * of its capture, so the memory its body used must never be handed to a tensor that lives across a
 * replay. Between {@link #beginCapture} and {@link #endCapture} blocks come from, and every freed
 * block goes to, a separate graph pool; while any graph lives that pool lends nothing to eager
 * allocations (a block of it freed later goes back to it), so a replay only overwrites graph
 * workspace. All graphs share the pool: they replay one at a time in stream order, and a body's
 * outputs stay allocated until the caller closes them. When the last graph is released the pool's
 * free blocks join the eager pools. Nothing is given back to the driver during a capture (cuMemFree
 * would synchronize).
 */
final class DeviceAllocator {
    static final long MIN_BLOCK = 512;
    static final long SMALL_LIMIT = 1L << 20;
    static final long LARGE_STEP = 2L << 20;

    /** One device allocation as handed out; {@code live} until freed (a freed block is never reused as an object). */
    static final class Block {
        final long pointer;
        final long size;
        private volatile boolean live = true;
        private boolean graph; // belongs to the graph pool (guarded by the allocator)

        private Block(long pointer, long size) {
            this.pointer = pointer;
            this.size = size;
        }

        boolean live() {
            return live;
        }
    }

    /** Memory accounting, in bytes: handed out now, the most ever handed out, held from the driver. */
    record Stats(long inUse, long peak, long reserved) {
        @Override
        public String toString() {
            return "in use " + mib(inUse) + ", peak " + mib(peak) + ", reserved " + mib(reserved);
        }

        private static String mib(long b) {
            return String.format(java.util.Locale.ROOT, "%.1f MiB", b / 1048576.0);
        }
    }

    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private final Map<Long, ArrayDeque<Long>> graphFree = new HashMap<>();
    private final Set<Long> all = new HashSet<>();
    private boolean capturing;
    private int liveGraphs;
    private long inUse;
    private long peak;
    private long reserved;
    private boolean closed;

    /** The size class of a request of {@code bytes}. */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) {
            return MIN_BLOCK;
        }
        if (bytes <= SMALL_LIMIT) {
            return Long.highestOneBit(bytes - 1) << 1;
        }
        return (bytes + LARGE_STEP - 1) / LARGE_STEP * LARGE_STEP;
    }

    /** A block of at least {@code bytes} (contents undefined). */
    synchronized Block allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("the cuda backend is closed");
        }
        long size = sizeClass(bytes);
        ArrayDeque<Long> pool = (capturing ? graphFree : free).get(size);
        Long cached = pool == null ? null : pool.poll();
        long pointer;
        if (cached != null) {
            pointer = cached;
        } else {
            pointer = Driver.memAllocOrZero(size);
            if (pointer == 0 && !capturing) {
                releaseCached();
                pointer = Driver.memAllocOrZero(size);
            }
            if (pointer == 0) {
                long[] info = Driver.memInfo();
                throw new CudaException("out of device memory: cannot allocate " + Stats.mib(size) + " (" + stats()
                        + "; the device has " + Stats.mib(info[0]) + " free of " + Stats.mib(info[1])
                        + "); use a smaller model, batch or KV cache");
            }
            all.add(pointer);
            reserved += size;
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        Block b = new Block(pointer, size);
        b.graph = capturing;
        return b;
    }

    /** Returns a block to its pool; idempotent. */
    synchronized void free(Block b) {
        if (!b.live) {
            return;
        }
        b.live = false;
        if (closed) {
            return;
        }
        inUse -= b.size;
        // a block freed mid-capture may be read by the graph (an eager tensor the body closed)
        boolean toGraph = capturing || (b.graph && liveGraphs > 0);
        (toGraph ? graphFree : free).computeIfAbsent(b.size, s -> new ArrayDeque<>()).push(b.pointer);
    }

    /** From now until {@link #endCapture}, allocations and frees use the graph pool. */
    synchronized void beginCapture() {
        if (capturing) {
            throw new IllegalStateException("a capture is already under way");
        }
        capturing = true;
    }

    /** Ends a capture; {@code kept}: a graph was made of it, and holds the graph pool until {@link #graphReleased}. */
    synchronized void endCapture(boolean kept) {
        capturing = false;
        if (kept) {
            liveGraphs++;
        } else {
            releaseGraphPoolIfUnused();
        }
    }

    /** A graph was destroyed; the last one gives the graph pool's free blocks to eager allocations. */
    synchronized void graphReleased() {
        if (liveGraphs <= 0) {
            throw new IllegalStateException("graphReleased without a live graph");
        }
        liveGraphs--;
        releaseGraphPoolIfUnused();
    }

    private void releaseGraphPoolIfUnused() {
        if (liveGraphs == 0) {
            for (Map.Entry<Long, ArrayDeque<Long>> e : graphFree.entrySet()) {
                free.computeIfAbsent(e.getKey(), s -> new ArrayDeque<>()).addAll(e.getValue());
            }
            graphFree.clear();
        }
    }

    /** Bytes held free in the graph pool (workspace of live graphs). */
    synchronized long graphPoolBytes() {
        long n = 0;
        for (Map.Entry<Long, ArrayDeque<Long>> e : graphFree.entrySet()) {
            n += e.getKey() * e.getValue().size();
        }
        return n;
    }

    synchronized Stats stats() {
        return new Stats(inUse, peak, reserved);
    }

    /** Gives every cached (free) block back to the driver. */
    synchronized void trim() {
        releaseCached();
    }

    private void releaseCached() {
        for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet()) {
            for (long p : e.getValue()) {
                Driver.memFree(p);
                all.remove(p);
                reserved -= e.getKey();
            }
        }
        free.clear();
    }

    /** Frees every block, live or cached; later frees of live blocks are no-ops. */
    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (long p : all) {
            Driver.memFree(p);
        }
        all.clear();
        free.clear();
        graphFree.clear();
        inUse = 0;
        reserved = 0;
    }
}
