package dev.jvllm.cuda;

import dev.jvllm.api.TensorLayout;
import java.lang.foreign.MemorySegment;

/**
 * Transfers between Java host memory and device tensors through page-locked (pinned) staging
 * chunks: the host data is copied into a pinned chunk, then DMA'd asynchronously on the backend's
 * stream. Chunks are reused round-robin; each has an event, and a chunk is refilled only after its
 * last transfer finished, so several uploads are in flight while the CPU prepares the next.
 *
 * <p>Strided views (row stride &gt; columns) move as 2D copies: the host side is always contiguous
 * rows, the device side the view's pitch.
 */
final class Staging {
    static final long CHUNK = 8L << 20;
    static final int CHUNKS = 4;

    private final Gpu gpu;
    private final MemorySegment[] chunks = new MemorySegment[CHUNKS];
    private final MemorySegment[] done = new MemorySegment[CHUNKS];
    private int next;

    Staging(Gpu gpu) {
        this.gpu = gpu;
        for (int i = 0; i < CHUNKS; i++) {
            chunks[i] = Driver.hostAlloc(CHUNK, Driver.MEMHOSTALLOC_PORTABLE);
            done[i] = Driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
        }
    }

    /** The next chunk, once its previous transfer has finished. */
    private int take() {
        int i = next;
        next = (next + 1) % CHUNKS;
        Driver.eventSynchronize(done[i]);
        return i;
    }

    /** Copies {@code numel} contiguous host elements into the (possibly strided) device tensor at {@code base}. */
    void upload(MemorySegment src, long base, TensorLayout layout) {
        int es = layout.dtype().byteSize();
        long rowBytes = (long) layout.cols() * es;
        long rows = layout.rows();
        long total = rows * rowBytes;
        if (total == 0) {
            return;
        }
        if (layout.isContiguous()) {
            for (long off = 0; off < total; off += CHUNK) {
                long n = Math.min(CHUNK, total - off);
                int i = take();
                MemorySegment.copy(src, off, chunks[i], 0, n);
                Driver.copyHtoDAsync(base + off, chunks[i], n, gpu.stream());
                Driver.eventRecord(done[i], gpu.stream());
            }
            return;
        }
        long pitch = layout.rowStride() * es;
        if (rowBytes <= CHUNK) {
            long per = CHUNK / rowBytes;
            for (long r = 0; r < rows; r += per) {
                long n = Math.min(per, rows - r);
                int i = take();
                MemorySegment.copy(src, r * rowBytes, chunks[i], 0, n * rowBytes);
                gpu.copy2D(0, chunks[i], rowBytes, base + r * pitch, null, pitch, rowBytes, n);
                Driver.eventRecord(done[i], gpu.stream());
            }
            return;
        }
        for (long r = 0; r < rows; r++) { // rows longer than a chunk: each row in pieces
            for (long off = 0; off < rowBytes; off += CHUNK) {
                long n = Math.min(CHUNK, rowBytes - off);
                int i = take();
                MemorySegment.copy(src, r * rowBytes + off, chunks[i], 0, n);
                Driver.copyHtoDAsync(base + r * pitch + off, chunks[i], n, gpu.stream());
                Driver.eventRecord(done[i], gpu.stream());
            }
        }
    }

    /** Copies the (possibly strided) device tensor at {@code base} into contiguous host memory, waiting for it. */
    void download(long base, TensorLayout layout, MemorySegment dst) {
        int es = layout.dtype().byteSize();
        long rowBytes = (long) layout.cols() * es;
        long rows = layout.rows();
        long total = rows * rowBytes;
        if (total == 0) {
            return;
        }
        if (layout.isContiguous()) {
            for (long off = 0; off < total; off += CHUNK) {
                long n = Math.min(CHUNK, total - off);
                int i = take();
                Driver.copyDtoHAsync(chunks[i], base + off, n, gpu.stream());
                finish(i, dst, off, n);
            }
            return;
        }
        long pitch = layout.rowStride() * es;
        if (rowBytes <= CHUNK) {
            long per = CHUNK / rowBytes;
            for (long r = 0; r < rows; r += per) {
                long n = Math.min(per, rows - r);
                int i = take();
                gpu.copy2D(base + r * pitch, null, pitch, 0, chunks[i], rowBytes, rowBytes, n);
                finish(i, dst, r * rowBytes, n * rowBytes);
            }
            return;
        }
        for (long r = 0; r < rows; r++) {
            for (long off = 0; off < rowBytes; off += CHUNK) {
                long n = Math.min(CHUNK, rowBytes - off);
                int i = take();
                Driver.copyDtoHAsync(chunks[i], base + r * pitch + off, n, gpu.stream());
                finish(i, dst, r * rowBytes + off, n);
            }
        }
    }

    private void finish(int i, MemorySegment dst, long dstOffset, long bytes) {
        Driver.eventRecord(done[i], gpu.stream());
        Driver.eventSynchronize(done[i]);
        MemorySegment.copy(chunks[i], 0, dst, dstOffset, bytes);
    }

    void close() {
        for (int i = 0; i < CHUNKS; i++) {
            Driver.eventSynchronize(done[i]);
            Driver.eventDestroy(done[i]);
            Driver.hostFree(chunks[i]);
        }
    }
}
