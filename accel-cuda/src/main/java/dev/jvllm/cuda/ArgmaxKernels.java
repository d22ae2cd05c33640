package dev.jvllm.cuda;

import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.Set;

/** Argmax over each row of logits ({@code argmax.cu}): ties to the lowest index, NaN above every number. */
final class ArgmaxKernels implements KernelFamily {
    private final Gpu gpu;

    ArgmaxKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.ARGMAX);
    }

    @Override
    public boolean supports(OpArgs args) {
        return args instanceof Argmax a && ElementwiseKernels.floats(a.logits())
                && (a.logits().cols() > 0 || a.logits().dim(0) == 0);
    }

    @Override
    public void run(OpArgs args) {
        Argmax a = (Argmax) args;
        int rows = a.logits().dim(0), vocab = a.logits().cols();
        if (rows == 0) {
            return;
        }
        int threads = vocab >= 8192 ? 1024 : vocab >= 1024 ? 256 : 32;
        gpu.kernel("argmax_rows").dependent().grid(rows).block(threads).view(a.logits()).ptr(a.out()).i32(vocab).launch();
    }
}
