package dev.jvllm.cuda;

import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.EnumSet;
import java.util.Set;

/**
 * The CUDA implementation of one op family: one subclass like {@code NormKernels} plus one
 * {@code .cu} file of kernels, registered by one line in {@link KernelFamilies#ALL}. A family gets
 * the backend's {@link Gpu} and must not touch the device in its constructor (construction is
 * cheap and happens for every backend).
 *
 * <p>The backend routes an op to the family whose {@link #ops()} contains its kind; an op no family
 * claims is unsupported.
 */
abstract class KernelFamily {
    /** The device: launches, tensors, scratch, cuBLAS. */
    protected final Gpu gpu;
    private final Set<OpKind> ops;

    /** @param ops the ops this family runs; two families may not claim the same op */
    protected KernelFamily(Gpu gpu, OpKind first, OpKind... more) {
        this.gpu = gpu;
        this.ops = Set.copyOf(EnumSet.of(first, more));
    }

    /** The ops this family runs. */
    final Set<OpKind> ops() {
        return ops;
    }

    /**
     * Whether the args run here: a pure function of dtypes, shapes and flags (see
     * {@link dev.jvllm.api.Backend#supports}); called only for an op of {@link #ops()}. Must not throw.
     */
    abstract boolean supports(OpArgs args);

    /** Enqueues a supported op on the stream (no waiting). */
    abstract void run(OpArgs args);

    /**
     * The message for an error this family's kernels reported through the device error word
     * ({@link DeviceErrors}); {@code detail} and {@code a, b, c} are what the kernel passed to
     * {@code report_error}.
     */
    String describeError(OpKind op, int detail, int a, int b, int c) {
        return op.id() + ": the kernel reported bad input (detail " + detail + ", values " + a + ", " + b + ", " + c + ")";
    }
}
