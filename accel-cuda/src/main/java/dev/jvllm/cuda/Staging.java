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
        forEachPiece(base, layout, (hostOffset, device, pitch, width, rows) -> {
            int i = take();
            MemorySegment.copy(src, hostOffset, chunks[i], 0, width * rows);
            if (rows == 1) {
                Driver.copyHtoDAsync(device, chunks[i], width, gpu.stream());
            } else {
                gpu.copy2D(0, chunks[i], width, device, null, pitch, width, rows);
            }
            Driver.eventRecord(done[i], gpu.stream());
        });
    }

    /** Copies the (possibly strided) device tensor at {@code base} into contiguous host memory, waiting for it. */
    void download(long base, TensorLayout layout, MemorySegment dst) {
        forEachPiece(base, layout, (hostOffset, device, pitch, width, rows) -> {
            int i = take();
            if (rows == 1) {
                Driver.copyDtoHAsync(chunks[i], device, width, gpu.stream());
            } else {
                gpu.copy2D(device, null, pitch, 0, chunks[i], width, width, rows);
            }
            Driver.eventRecord(done[i], gpu.stream());
            Driver.eventSynchronize(done[i]);
            MemorySegment.copy(chunks[i], 0, dst, hostOffset, width * rows);
        });
    }

    /** One transfer of at most a chunk: {@code rows} rows of {@code width} bytes, device rows {@code pitch} apart. */
    @FunctionalInterface
    private interface Piece {
        void move(long hostOffset, long device, long pitch, long width, long rows);
    }

    /**
     * Cuts a tensor into chunk-sized pieces: flat byte ranges when it is contiguous, runs of whole rows
     * (2D) when its rows fit a chunk, else each row in flat pieces. The host side is always contiguous.
     */
    private static void forEachPiece(long base, TensorLayout layout, Piece piece) {
        int es = layout.dtype().byteSize();
        long rowBytes = (long) layout.cols() * es;
        long rows = layout.rows();
        long total = rows * rowBytes;
        if (total == 0) {
            return;
        }
        if (layout.isContiguous()) {
            for (long off = 0; off < total; off += CHUNK) {
                piece.move(off, base + off, 0, Math.min(CHUNK, total - off), 1);
            }
            return;
        }
        long pitch = layout.rowStride() * es;
        if (rowBytes <= CHUNK) {
            long per = CHUNK / rowBytes;
            for (long r = 0; r < rows; r += per) {
                piece.move(r * rowBytes, base + r * pitch, pitch, rowBytes, Math.min(per, rows - r));
            }
            return;
        }
        for (long r = 0; r < rows; r++) {
            for (long off = 0; off < rowBytes; off += CHUNK) {
                piece.move(r * rowBytes + off, base + r * pitch + off, pitch, Math.min(CHUNK, rowBytes - off), 1);
            }
        }
    }

    void close() {
        for (int i = 0; i < CHUNKS; i++) {
            Driver.eventSynchronize(done[i]);
            Driver.eventDestroy(done[i]);
            Driver.hostFree(chunks[i]);
        }
    }
}
