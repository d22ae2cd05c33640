package dev.jvllm.cuda;

import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/**
 * The CUDA implementation of one op family: one class like this plus one {@code .cu} file of
 * kernels, registered by one line in {@link KernelFamilies#ALL}. Each instance gets the backend's
 * {@link Gpu} in its constructor and must not touch the device there (construction is cheap and
 * happens for every backend).
 *
 * <p>The backend routes an op to the family whose {@link #ops()} contains its kind; an op no family
 * claims is unsupported.
 */
interface KernelFamily {

    /** The ops this family runs. Two families may not claim the same op. */
    Set<OpKind> ops();

    /**
     * Whether the args run here: a pure function of dtypes, shapes and flags (see
     * {@link dev.jvllm.api.Backend#supports}); called only for an op of {@link #ops()}. Must not throw.
     */
    boolean supports(OpArgs args);

    /** Enqueues a supported op on the stream (no waiting). */
    void run(OpArgs args);

    /**
     * The message for an error this family's kernels reported through the device error word
     * ({@link DeviceErrors}); {@code detail} and {@code a, b, c} are what the kernel passed to
     * {@code report_error}.
     */
    default String describeError(OpKind op, int detail, int a, int b, int c) {
        return op.id() + ": the kernel reported bad input (detail " + detail + ", values " + a + ", " + b + ", " + c + ")";
    }
}
