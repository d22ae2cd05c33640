package dev.jvllm.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.jvllm.api.PendingRead;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The input and output copies of a staged graph ({@link CudaBackend#capture(Runnable,
 * dev.jvllm.api.Tensor, dev.jvllm.api.Tensor)}). The graph's first kernel ({@code data_copy_in})
 * copies a replay's input rows from a slot of pinned host memory mapped into the device; its last
 * ({@code data_copy_out}) stores the output and the error word into the same slot. Before each
 * staged launch both kernel nodes are pointed at the slot that replay took
 * ({@code cuGraphExecKernelNodeSetParams}), so a replay is one graph launch where it was an upload on
 * the copy engine, a launch and a read kernel (docs/performance.md run 23).
 *
 * <p>A slot is reused once its replay has finished (its event) and its read was awaited or closed; a
 * decode engine with one step in flight alternates between two. A plain {@link CudaGraph#replay()}
 * disables both nodes ({@code cuGraphNodeSetEnabled}): the body then reads the input tensor as it is.
 *
 * <p>Slot layout: the input's bytes, then (16-byte aligned) the output's, then the error word's copy.
 */
final class StagedIo {
    private static final int THREADS = 256;
    /** Slots before a replay waits for a free one's replay to end instead of allocating another. */
    private static final int MAX_FREE_SLOTS = 4;

    /** A pinned, device-mapped slot and the event recorded after the replay that last used it. */
    private record Slot(MemorySegment host, long mapped, MemorySegment done) {
    }

    /** A captured kernel node and the parameters a replay points it with. */
    private static final class KernelNode {
        final MemorySegment params;
        final MemorySegment args;
        final long[] current;
        MemorySegment node;

        KernelNode(Arena arena, MemorySegment function, int blocks, int argCount) {
            params = arena.allocate(NativeLayouts.KERNEL_NODE_PARAMS);
            args = arena.allocate(JAVA_LONG, argCount);
            current = new long[argCount];
            MemorySegment pointers = arena.allocate(ADDRESS, argCount);
            for (int i = 0; i < argCount; i++) {
                pointers.setAtIndex(ADDRESS, i, args.asSlice(i * JAVA_LONG.byteSize(), JAVA_LONG.byteSize()));
            }
            params.set(ADDRESS, NativeLayouts.KERNEL_NODE_PARAMS.byteOffset(groupElement("func")), function);
            for (String dim : new String[] {"gridDimY", "gridDimZ", "blockDimY", "blockDimZ"}) {
                params.set(JAVA_INT, NativeLayouts.KERNEL_NODE_PARAMS.byteOffset(groupElement(dim)), 1);
            }
            params.set(JAVA_INT, NativeLayouts.KERNEL_NODE_PARAMS.byteOffset(groupElement("gridDimX")), blocks);
            params.set(JAVA_INT, NativeLayouts.KERNEL_NODE_PARAMS.byteOffset(groupElement("blockDimX")), THREADS);
            params.set(ADDRESS, NativeLayouts.KERNEL_NODE_PARAMS.byteOffset(groupElement("kernelParams")), pointers);
        }

        /** The arguments the node was captured with. */
        void captured(MemorySegment capturedNode, long... values) {
            node = capturedNode;
            System.arraycopy(values, 0, current, 0, values.length);
        }

        /** Points the node at {@code values} for the next launches of {@code exec} (nothing when unchanged). */
        void update(MemorySegment exec, long... values) {
            if (java.util.Arrays.equals(current, values)) {
                return;
            }
            for (int i = 0; i < values.length; i++) {
                args.setAtIndex(JAVA_LONG, i, values[i]);
            }
            Driver.graphExecKernelNodeSetParams(exec, node, params);
            System.arraycopy(values, 0, current, 0, values.length);
        }
    }

    private final Gpu gpu;
    private final long inAddress;
    private final long inRowBytes;
    private final int inRows;
    private final long outAddress;
    private final long outBytes;
    private final long outOffset;
    private final long errorOffset;
    private final int inBlocks;
    private final KernelNode copyIn;
    private final KernelNode copyOut;
    private final ArrayDeque<Slot> free = new ArrayDeque<>();
    private boolean nodesEnabled = true;
    private boolean closed;

    /**
     * @param input  contiguous: the device rows a staged replay writes
     * @param output contiguous, or null: the device bytes each staged replay reads back
     */
    StagedIo(Gpu gpu, CudaTensor input, CudaTensor output) {
        this.gpu = gpu;
        this.inAddress = input.address();
        this.inRows = input.dim(0);
        this.inRowBytes = input.numel() / Math.max(1, inRows) * input.dtype().byteSize();
        this.outAddress = output == null ? 0 : output.address();
        this.outBytes = output == null ? 0 : output.numel() * output.dtype().byteSize();
        long inBytes = inRowBytes * inRows;
        this.outOffset = align16(inBytes);
        this.errorOffset = outOffset + align16(outBytes);
        this.inBlocks = (int) Math.max(1, Math.min(4L * gpu.multiprocessors(), (inBytes / 4 + THREADS - 1) / THREADS));
        Arena arena = Arena.ofAuto();
        this.copyIn = new KernelNode(arena, gpu.function("data_copy_in"), inBlocks, 3);
        this.copyOut = output == null ? null : new KernelNode(arena, gpu.function("data_copy_out"), 1, 5);
    }

    private static long align16(long n) {
        return (n + 15) / 16 * 16;
    }

    private long inBytes() {
        return inRowBytes * inRows;
    }

    /** During the capture, before the body: the input's copy, as the graph's first kernel. */
    void recordCopyIn() {
        Slot s = newSlot();
        free.addFirst(s);
        record(gpu.kernel("data_copy_in").grid(inBlocks).block(THREADS).ptr(s.mapped).i64(inBytes()).ptr(inAddress),
                copyIn, s.mapped, inBytes(), inAddress);
    }

    /** During the capture, after the body: the output's copy, as the graph's last kernel (nothing without an output). */
    void recordCopyOut() {
        if (copyOut != null) {
            long dst = free.getFirst().mapped + outOffset;
            record(gpu.kernel("data_copy_out").grid(1).block(THREADS).ptr(outAddress).i64(outBytes)
                    .ptr(gpu.errorWord()).ptr(dst).i64(errorOffset - outOffset),
                    copyOut, outAddress, outBytes, gpu.errorWord(), dst, errorOffset - outOffset);
        }
    }

    private void record(Launch launch, KernelNode node, long... args) {
        if (!launch.launch()) {
            throw new IllegalStateException("-Djvllm.cuda.skipKernels leaves out a staged graph's copies;"
                    + " capture without a staged input, or skip other kernels");
        }
        node.captured(Driver.lastCapturedNode(gpu.stream()), args);
    }

    /** Before a plain replay: the copies do not run, the body reads the input tensor as it is. */
    void plain(MemorySegment exec) {
        enable(exec, false);
    }

    /**
     * A staged replay of {@code exec}: writes the input rows from {@code firstRow} on into a slot,
     * points the copies at it, launches ({@code launch}) and returns the output's read (null without an
     * output). The caller has checked {@code bytes} and made the context current.
     */
    PendingRead replay(MemorySegment exec, MemorySegment bytes, int firstRow, Runnable launch) {
        long offset = firstRow * inRowBytes;
        long n = inBytes() - offset;
        Slot s = take();
        long fetchedAt;
        try {
            MemorySegment.copy(bytes, 0, s.host, 0, n);
            enable(exec, true);
            copyIn.update(exec, s.mapped, n, inAddress + offset);
            if (copyOut != null) {
                copyOut.update(exec, outAddress, outBytes, gpu.errorWord(), s.mapped + outOffset, errorOffset - outOffset);
            }
            fetchedAt = gpu.errorGeneration();
            launch.run();
        } catch (RuntimeException e) {
            free.addFirst(s);
            throw e;
        }
        Driver.eventRecord(s.done, gpu.stream());
        if (copyOut == null) {
            free.addLast(s);
            return null;
        }
        return new SlotRead(gpu, s.host.asSlice(outOffset, outBytes), s.host.asSlice(errorOffset, DeviceErrors.bytes()),
                s.done, fetchedAt, false, () -> giveBack(s));
    }

    /** Checks a staged replay's arguments against the input (IllegalArgumentException naming what is wrong). */
    void check(MemorySegment bytes, int firstRow) {
        if (firstRow < 0 || firstRow > inRows) {
            throw new IllegalArgumentException("replay: first row " + firstRow + " outside the staged input's " + inRows
                    + " rows");
        }
        long need = inBytes() - firstRow * inRowBytes;
        if (bytes.byteSize() < need) {
            throw new IllegalArgumentException("replay: " + bytes.byteSize() + " bytes for rows " + firstRow + ".."
                    + inRows + " of the staged input, which need " + need);
        }
    }

    private void enable(MemorySegment exec, boolean on) {
        if (nodesEnabled != on) {
            Driver.graphNodeSetEnabled(exec, copyIn.node, on);
            if (copyOut != null) {
                Driver.graphNodeSetEnabled(exec, copyOut.node, on);
            }
            nodesEnabled = on;
        }
    }

    /**
     * A free slot whose replay has ended, else a new one while fewer than {@link #MAX_FREE_SLOTS} are
     * free, else the first free one once its replay ends.
     */
    private Slot take() {
        for (Iterator<Slot> it = free.iterator(); it.hasNext(); ) {
            Slot s = it.next();
            if (Driver.eventDone(s.done)) {
                it.remove();
                return s;
            }
        }
        if (free.size() < MAX_FREE_SLOTS) {
            return newSlot();
        }
        Slot s = free.pollFirst();
        Driver.eventSynchronize(s.done);
        return s;
    }

    private Slot newSlot() {
        MemorySegment host = Driver.hostAlloc(errorOffset + DeviceErrors.bytes(),
                Driver.MEMHOSTALLOC_PORTABLE | Driver.MEMHOSTALLOC_DEVICEMAP);
        MemorySegment done;
        try {
            done = Driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
        } catch (RuntimeException e) {
            Driver.hostFree(host);
            throw e;
        }
        return new Slot(host, Driver.hostDevicePointer(host), done);
    }

    private void giveBack(Slot s) {
        if (closed) {
            destroy(s);
        } else {
            free.addFirst(s);
        }
    }

    private static void destroy(Slot s) {
        Driver.eventSynchronize(s.done);
        Driver.eventDestroy(s.done);
        Driver.hostFree(s.host);
    }

    /** Frees the free slots now, and each slot a read still holds when that read ends (after the graph was destroyed). */
    void close() {
        if (!closed) {
            closed = true;
            for (Slot s : free) {
                destroy(s);
            }
            free.clear();
        }
    }
}
