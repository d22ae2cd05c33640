package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.cpu.CpuContext;

/** CPU reference for {@link GatedActivation}: not implemented yet. */
public final class GatedActivationKernel {
    private GatedActivationKernel() {
    }

    public static boolean supports(GatedActivation a) {
        return false;
    }

    public static void run(GatedActivation a, CpuContext ctx) {
        throw new UnsupportedOperationException("gatedActivation is not implemented on the cpu backend yet");
    }
}
