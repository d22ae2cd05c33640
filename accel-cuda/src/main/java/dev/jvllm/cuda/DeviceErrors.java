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
    }

    /** Call after the stream drained (behind {@link #fetch}): throws the first reported error, and clears it. */
    void raiseIfAny(MemorySegment stream, Describer describer) {
        int code = host.getAtIndex(JAVA_INT, 0);
        if (code == 0) {
            return;
        }
        int a = host.getAtIndex(JAVA_INT, 1), b = host.getAtIndex(JAVA_INT, 2), c = host.getAtIndex(JAVA_INT, 3);
        host.fill((byte) 0);
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
