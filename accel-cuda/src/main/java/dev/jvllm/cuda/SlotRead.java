package dev.jvllm.cuda;

import dev.jvllm.api.PendingRead;
import java.lang.foreign.MemorySegment;

/**
 * A started read whose bytes and copy of the error word a kernel stores into pinned host memory
 * mapped into the device ({@link Gpu#downloadLater}'s slots, {@link StagedIo}'s): {@link #await}
 * waits for the event recorded after that kernel, copies the bytes out and raises the error the copy
 * shows ({@link DeviceErrors}); awaited or closed once, the read hands its slot back.
 */
final class SlotRead implements PendingRead {
    private final Gpu gpu;
    private final MemorySegment data;
    private final MemorySegment errorCopy;
    private final MemorySegment arrived;
    private final long fetchedAt;
    private final boolean waitOnClose;
    private final Runnable giveBack;
    private boolean open = true;

    /**
     * @param data        the slot's bytes of the read
     * @param errorCopy   the slot's copy of the error word
     * @param arrived     the event recorded after the storing kernel
     * @param fetchedAt   {@link DeviceErrors#generation} when that kernel was enqueued
     * @param waitOnClose whether {@link #close} waits for the copy before handing the slot back (else
     *                    the slot's next user waits on {@code arrived})
     */
    SlotRead(Gpu gpu, MemorySegment data, MemorySegment errorCopy, MemorySegment arrived, long fetchedAt,
            boolean waitOnClose, Runnable giveBack) {
        this.gpu = gpu;
        this.data = data;
        this.errorCopy = errorCopy;
        this.arrived = arrived;
        this.fetchedAt = fetchedAt;
        this.waitOnClose = waitOnClose;
        this.giveBack = giveBack;
    }

    @Override
    public void await(MemorySegment dst) {
        if (!open) {
            throw new IllegalStateException("this read was already awaited or closed");
        }
        gpu.makeCurrent();
        Driver.eventSynchronize(arrived);
        MemorySegment.copy(data, 0, dst, 0, data.byteSize());
        try {
            gpu.raiseIfAny(errorCopy, fetchedAt);
        } finally {
            release();
        }
    }

    @Override
    public void close() {
        if (open) {
            if (waitOnClose) {
                gpu.makeCurrent();
                Driver.eventSynchronize(arrived);
            }
            release();
        }
    }

    private void release() {
        open = false;
        giveBack.run();
    }
}
