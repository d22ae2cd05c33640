package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link MoeRouting}: not implemented yet. */
public final class MoeRoutingKernel {
    private MoeRoutingKernel() {
    }

    public static boolean supports(MoeRouting a) {
        return false;
    }

    public static void run(MoeRouting a, CpuContext ctx) {
        throw new UnsupportedOperationException("moeRouting is not implemented on the cpu backend yet");
    }
}
