package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.LinearAttention;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link LinearAttention}: not implemented yet. */
public final class LinearAttentionKernel {
    private LinearAttentionKernel() {
    }

    public static boolean supports(LinearAttention a) {
        return false;
    }

    public static void run(LinearAttention a, CpuContext ctx) {
        throw new UnsupportedOperationException("linearAttention is not implemented on the cpu backend yet");
    }
}
