package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link CausalConv1d}: not implemented yet. */
public final class CausalConv1dKernel {
    private CausalConv1dKernel() {
    }

    public static boolean supports(CausalConv1d a) {
        return false;
    }

    public static void run(CausalConv1d a, CpuContext ctx) {
        throw new UnsupportedOperationException("causalConv1d is not implemented on the cpu backend yet");
    }
}
