package dev.jvllm.cuda;

import java.util.List;
import java.util.function.Function;

/**
 * Every op family the CUDA backend implements, in catalog order. Adding a family: write
 * {@code XxxKernels implements KernelFamily} and {@code src/main/cuda/xxx.cu}, then add one line here
 * (docs/writing-a-backend.md, "Adding a CUDA kernel").
 */
final class KernelFamilies {
    private KernelFamilies() {
    }

    static final List<Function<Gpu, KernelFamily>> ALL = List.of(
            DataKernels::new,
            ElementwiseKernels::new,
            EmbeddingKernels::new,
            LinearKernels::new,
            NormKernels::new,
            RotaryKernels::new,
            AttentionKernels::new,
            ArgmaxKernels::new);
}
