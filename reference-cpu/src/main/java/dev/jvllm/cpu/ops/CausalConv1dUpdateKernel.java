package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link CausalConv1dUpdate}: not implemented yet. */
public final class CausalConv1dUpdateKernel {
    private CausalConv1dUpdateKernel() {
    }

    public static boolean supports(CausalConv1dUpdate a) {
        return false;
    }

    public static void run(CausalConv1dUpdate a, CpuContext ctx) {
        throw new UnsupportedOperationException("causalConv1dUpdate is not implemented on the cpu backend yet");
    }
}
