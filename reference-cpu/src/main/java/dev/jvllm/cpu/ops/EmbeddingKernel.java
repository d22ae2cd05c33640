package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.Embedding;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link Embedding}: not implemented yet. */
public final class EmbeddingKernel {
    private EmbeddingKernel() {
    }

    public static boolean supports(Embedding a) {
        return false;
    }

    public static void run(Embedding a, CpuContext ctx) {
        throw new UnsupportedOperationException("embedding is not implemented on the cpu backend yet");
    }
}
