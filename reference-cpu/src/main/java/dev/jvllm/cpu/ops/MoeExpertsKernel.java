package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link MoeExperts}: not implemented yet. */
public final class MoeExpertsKernel {
    private MoeExpertsKernel() {
    }

    public static boolean supports(MoeExperts a) {
        return false;
    }

    public static void run(MoeExperts a, CpuContext ctx) {
        throw new UnsupportedOperationException("moeExperts is not implemented on the cpu backend yet");
    }
}
