package dev.jvllm.cuda;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Scale;
import java.util.Set;

/**
 * Elementwise ops ({@code elementwise.cu}): binary add/mul with row broadcast, scale, activations and
 * gated activations over F32/F16/BF16 in any mix, strided views, in place allowed (each element is
 * read and written by one thread).
 */
final class ElementwiseKernels implements KernelFamily {
    private final Gpu gpu;

    ElementwiseKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.BINARY, OpKind.SCALE, OpKind.ACTIVATION, OpKind.GATED_ACTIVATION);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case Binary a -> floats(a.a(), a.b(), a.out());
            case Scale a -> floats(a.x(), a.out());
            case Activation a -> floats(a.x(), a.out());
            case GatedActivation a -> floats(a.x(), a.out()) && (a.fn() == ActivationKind.SILU
                    || a.fn() == ActivationKind.GELU_ERF || a.fn() == ActivationKind.GELU_TANH
                    || a.fn() == ActivationKind.RELU);
            default -> false;
        };
    }

    static boolean floats(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && !t.dtype().isFloat()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case Binary a -> {
                if (a.a().numel() > 0) {
                    gpu.kernel("ew_binary").rowsCols(a.a().rows(), a.a().cols()).view(a.a()).view(a.b()).view(a.out())
                            .i64(a.a().rows()).i32(a.a().cols()).i32(a.op() == Binary.Op.ADD ? 0 : 1)
                            .i32(a.broadcastsB() ? 1 : 0).launch();
                }
            }
            case Scale a -> {
                if (a.x().numel() > 0) {
                    gpu.kernel("ew_scale").rowsCols(a.x().rows(), a.x().cols()).view(a.x()).view(a.out())
                            .i64(a.x().rows()).i32(a.x().cols()).f32(a.factor()).launch();
                }
            }
            case Activation a -> {
                if (a.x().numel() > 0) {
                    gpu.kernel("ew_activation").rowsCols(a.x().rows(), a.x().cols()).view(a.x()).view(a.out())
                            .i64(a.x().rows()).i32(a.x().cols()).i32(a.fn().ordinal()).f32(a.param()).launch();
                }
            }
            case GatedActivation a -> {
                if (a.out().numel() > 0) {
                    gpu.kernel("ew_gated").dependent().rowsCols(a.out().rows(), a.out().cols()).view(a.x()).view(a.out())
                            .i64(a.out().rows()).i32(a.out().cols()).i32(a.fn().ordinal()).launch();
                }
            }
            default -> throw new IllegalArgumentException("elementwise: " + args.kind().id());
        }
    }
}
