package dev.jvllm.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.jvllm.api.ops.OpKind;
import java.lang.foreign.MemorySegment;

/**
 * The device error word: four ints of device memory that kernels write when they meet bad input
 * (an index outside its table, a slot outside the cache). A kernel cannot throw, so the op skips the
 * bad entries and the exception comes at the next {@code synchronize()} or {@code read()}, naming the
 * op and the values: {@link #fetch} enqueues a copy of the word into pinned host memory before the
 * stream is drained, {@link #raiseIfAny} reads it afterwards.
 *
 * <p>A read started without waiting ({@code Gpu.downloadLater}) has a kernel store the word into
 * its own pinned slot instead, since it may land after other reads were raised. Each copy remembers
 * how many errors had been raised when it was enqueued: raising one clears the word, but only in
 * stream order, so a copy enqueued before that clear can still show the error already raised
 * (nothing newer: the first error stays until cleared). Such a copy raises nothing.
 *
 * <p>Layout: {@code [code, a, b, c]}; {@code code = (OpKind ordinal + 1) << 8 | detail} (see
 * {@link #code}); the first error wins until it is raised (common.cuh {@code report_error}).
 */
final class DeviceErrors {
    /** Turns a reported error into the message of the op that reported it. */
    @FunctionalInterface
    interface Describer {
        String describe(OpKind op, int detail, int a, int b, int c);
    }

    private static final long BYTES = 16;
    private final MemorySegment host;
    private final long device;
    /** Errors raised so far: the generation a copy of the word is enqueued in. */
    private long raised;
    /** The generation of the copy in {@code host}. */
    private long hostFetchedAt;

    DeviceErrors(MemorySegment stream) {
        host = Driver.hostAlloc(BYTES, Driver.MEMHOSTALLOC_PORTABLE);
        host.fill((byte) 0);
        device = Driver.memAllocOrZero(BYTES);
        if (device == 0) {
            throw new CudaException("out of device memory for the 16-byte error word");
        }
        Driver.memsetAsync(device, (byte) 0, BYTES, stream);
    }

    /** The error code a kernel of {@code op} reports for {@code detail} (0..255). */
    static int code(OpKind op, int detail) {
        return (op.ordinal() + 1) << 8 | detail;
    }

    long devicePointer() {
        return device;
    }

    /** Enqueues the copy of the word to the host; call before draining the stream. */
    void fetch(MemorySegment stream) {
        Driver.copyDtoHAsync(host, device, BYTES, stream);
        hostFetchedAt = raised;
    }

    /** Call after the stream drained (behind {@link #fetch}): throws the first reported error, and clears it. */
    void raiseIfAny(MemorySegment stream, Describer describer) {
        raiseIfAny(host, hostFetchedAt, stream, describer);
    }

    /**
     * The generation of a copy of the word enqueued now by other means (a kernel's store into a
     * read's slot): give it to {@link #raiseIfAny(MemorySegment, long, MemorySegment, Describer)} with
     * that copy.
     */
    long generation() {
        return raised;
    }

    /** The bytes a copy of the word takes. */
    static long bytes() {
        return BYTES;
    }

    /**
     * Once the copy in {@code copy} landed: throws the error it shows and clears the word, unless an
     * error was raised after the copy was enqueued (then it shows that one or none; see the class comment).
     */
    void raiseIfAny(MemorySegment copy, long fetchedAt, MemorySegment stream, Describer describer) {
        int code = copy.getAtIndex(JAVA_INT, 0);
        if (code == 0 || fetchedAt != raised) {
            return;
        }
        int a = copy.getAtIndex(JAVA_INT, 1), b = copy.getAtIndex(JAVA_INT, 2), c = copy.getAtIndex(JAVA_INT, 3);
        copy.asSlice(0, BYTES).fill((byte) 0);
        raised++;
        Driver.memsetAsync(device, (byte) 0, BYTES, stream);
        int ordinal = (code >>> 8) - 1;
        OpKind[] ops = OpKind.values();
        if (ordinal < 0 || ordinal >= ops.length) {
            throw new IllegalStateException("a CUDA kernel reported the unknown error code " + code + " (" + a + ", " + b
                    + ", " + c + ")");
        }
        throw new IllegalArgumentException(describer.describe(ops[ordinal], code & 0xFF, a, b, c)
                + " (reported by the GPU; the op skipped the bad entries)");
    }

    void close() {
        Driver.memFree(device);
        Driver.hostFree(host);
    }
}
